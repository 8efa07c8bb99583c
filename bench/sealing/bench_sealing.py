"""Sealing throughput: strongroom.sealing vs kubesealpy (PyPI) and @socialgouv/aes-gcm-rsa-oaep (npm), one run.

    .venv/bin/python bench/sealing/bench_sealing.py [--rounds N] [--trials T]

Same RSA-4096 key (upstream's default), same Secret (20 items of 1 KiB), same run. Each operation is timed
in T trials that alternate between the two sides (the machine is shared, so interleaving keeps load
changes from favouring one side); the median ops/s is printed with our ratio (> 1: we are faster).
The npm side is timed inside node (no process start-up in its number).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from kubesealpy import SealedSecret as PeerSealedSecret
from kubesealpy import Sealer, SealingScope, Unsealer

from strongroom import sealing

NODE_DIR = Path(__file__).parents[2] / "tests" / "sealing" / "node"
ITEMS = {f"key{i}": os.urandom(1024) for i in range(20)}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
          "data": {k: base64.b64encode(v).decode() for k, v in ITEMS.items()}}
TEXT_ITEMS = {k: base64.b64encode(v).decode() for k, v in ITEMS.items()}


def _rate(fn: Callable[[], object], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return rounds / (time.perf_counter() - start)


def compare(ours: Callable[[], object], theirs: Callable[[], object], rounds: int,
            trials: int) -> tuple[float, float]:
    ours(), theirs()  # warm up
    a: list[float] = []
    b: list[float] = []
    for _ in range(trials):
        a.append(_rate(ours, rounds))
        b.append(_rate(theirs, rounds))
    return statistics.median(a), statistics.median(b)


NODE_SCRIPT = """
const peer = require('@socialgouv/aes-gcm-rsa-oaep');
(async () => {
  const args = JSON.parse(process.argv[1]);
  const op = {pemKey: args.cert, scope: 'strict', namespace: 'prod', name: 'db', values: args.values};
  await peer.getSealedSecret(op);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < args.rounds; i++) await peer.getSealedSecret(op);
  process.stdout.write(JSON.stringify({seal: args.rounds / (Number(process.hrtime.bigint() - t0) / 1e9)}));
})();
"""


def node_seal_rate(cert_pem: bytes, rounds: int) -> float | None:
    if not shutil.which("node") or not (NODE_DIR / "node_modules").is_dir():
        return None
    arg = json.dumps({"cert": cert_pem.decode(), "values": TEXT_ITEMS, "rounds": rounds})
    out = subprocess.run(["node", "-e", NODE_SCRIPT, arg], cwd=NODE_DIR, capture_output=True, check=True,
                         text=True)
    return float(json.loads(out.stdout)["seal"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    rounds, trials = args.rounds, args.trials
    keys = [sealing.generate_key_pair(4096) for _ in range(5)]  # newest first
    key, cert = keys[0]
    public = sealing.load_recipient(cert)
    peer_sealer = Sealer.from_certificate_pem(cert)
    sealed = sealing.seal_secret(SECRET, public)
    peer_sealed = PeerSealedSecret.model_validate(sealed)
    old_sealed = sealing.seal_secret(SECRET, sealing.load_recipient(keys[-1][1]))  # sealed with the oldest key
    peer_old_sealed = PeerSealedSecret.model_validate(old_sealed)
    all_keys = [k for k, _ in keys]
    big = os.urandom(1024 * 1024)

    rows = [
        ("seal Secret (20 x 1 KiB)", *compare(
            lambda: sealing.seal_secret(SECRET, public),
            lambda: peer_sealer.seal("db", "prod", ITEMS, SealingScope.STRICT), rounds, trials)),
        ("unseal, 1 key", *compare(
            lambda: sealing.unseal_sealed_secret(sealed, [key]),
            lambda: Unsealer([key]).unseal(peer_sealed), max(1, rounds // 5), trials)),
        ("unseal, 5 keys, sealed with oldest", *compare(
            lambda: sealing.unseal_sealed_secret(old_sealed, all_keys),
            lambda: Unsealer(all_keys).unseal(peer_old_sealed), max(1, rounds // 5), trials)),
        ("seal raw 1 MiB value (base64 out)", *compare(
            lambda: sealing.seal_value(public, sealing.Scope.STRICT, "p", "n", big),
            lambda: base64.b64encode(peer_sealer.seal_value(big, "p", "n", SealingScope.STRICT)),
            rounds, trials)),
    ]
    print(f"rounds={rounds} trials={trials} key=RSA-4096 cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f}")
    print(f"{'operation (anchor: kubesealpy 1.0.1)':38} {'strongroom ops/s':>17} {'anchor ops/s':>13} {'ratio':>6}")
    for name, ours, theirs in rows:
        print(f"{name:38} {ours:17.1f} {theirs:13.1f} {ours / theirs:6.2f}")
    node = node_seal_rate(cert, rounds * trials)
    if node is None:
        print("npm peer not installed (cd tests/sealing/node && npm ci)")
        return
    ours = statistics.median(_rate(lambda: sealing.seal_secret(SECRET, public), rounds) for _ in range(trials))
    print(f"{'seal Secret (anchor: npm peer 1.1.4)':38} {ours:17.1f} {node:13.1f} {ours / node:6.2f}")


if __name__ == "__main__":
    main()
