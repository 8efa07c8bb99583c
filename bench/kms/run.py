"""Benchmark the KMS v2 plugin (Decrypt ops/s and p99 over the unix socket) and `atrest audit-etcd` (keys/s on a
real etcd), each next to an anchor in the same run.

Anchors: for the plugin, OpenBao's own transit decrypt over HTTP (what our transit backend calls; the plugin
adds gRPC, validation and caching on top); for the audit, `etcdctl get --prefix -w json` reading the same keys
(the raw read cost the audit cannot beat). Everything runs on loopback and stops by itself.

    .venv/bin/python bench/kms/run.py                 # 2,000 Decrypts per case, 10,000 etcd keys
    .venv/bin/python bench/kms/run.py --calls 500 --keys 2000
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import etcd, free_port, wait_port  # noqa: E402

from strongroom.atrest import audit, formats, k8sproto  # noqa: E402
from strongroom.atrest.config import Key, parse  # noqa: E402
from strongroom.atrest.etcd import EtcdClient  # noqa: E402
from strongroom.kms import keyring  # noqa: E402
from strongroom.kms.client import KMSClient  # noqa: E402
from strongroom.kms.keyring import KeyringBackend  # noqa: E402
from strongroom.kms.server import PluginServer  # noqa: E402
from strongroom.kms.service import KMSService  # noqa: E402
from strongroom.kms.transit import TransitBackend  # noqa: E402


def timed(fn: Callable[[int], object], calls: int, threads: int) -> dict[str, float]:
    lat: list[float] = []

    def one(i: int) -> None:
        t = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t)

    for i in range(min(50, calls)):  # warm-up: connections, caches of the server side
        fn(i)
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(calls)))
    wall = time.perf_counter() - start
    lat.sort()
    return {"ops_s": calls / wall, "p50_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1e3}


def plugin_case(backend: object, calls: int, threads: int, cache: int, d: Path) -> dict[str, float]:
    service = KMSService(backend, cache_size=cache)  # type: ignore[arg-type]
    server = PluginServer(service, f"unix://{d}/b{cache}{id(backend)}.sock", workers=8)
    server.start()
    try:
        with KMSClient(f"unix://{server.path}") as c:
            encs = [c.encrypt(os.urandom(32)) for _ in range(64)]
            return timed(lambda i: c.decrypt(encs[i % 64].ciphertext, encs[i % 64].key_id,
                                             dict(encs[i % 64].annotations)), calls, threads)
    finally:
        server.stop(1)


def start_bao() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/bao"), "server", "-dev", "-dev-root-token-id=root",
                             f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    addr = f"http://127.0.0.1:{port}"
    h = {"X-Vault-Token": "root"}
    for _ in range(100):
        if httpx.post(f"{addr}/v1/sys/mounts/transit", json={"type": "transit"}, headers=h).status_code < 300:
            break
        time.sleep(0.1)
    httpx.post(f"{addr}/v1/transit/keys/bench", headers=h).raise_for_status()
    return proc, addr


def bench_kms(calls: int, threads: int) -> list[tuple[str, dict[str, float]]]:
    d = Path(tempfile.mkdtemp(prefix="srbench-"))
    rows = []
    try:
        keyring.create(d / "ring.json")
        rows.append(("plugin keyring, no cache", plugin_case(KeyringBackend(d / "ring.json"), calls, threads, 0, d)))
        rows.append(("plugin keyring, seed cache", plugin_case(KeyringBackend(d / "ring.json"), calls, threads,
                                                               1000, d)))
        if (ROOT / ".venv/bin/bao").exists():
            proc, addr = start_bao()
            try:
                backend = TransitBackend(addr, "bench", token="root")
                rows.append(("plugin transit(bao), no cache", plugin_case(backend, calls, threads, 0, d)))
                rows.append(("plugin transit(bao), seed cache",
                             plugin_case(TransitBackend(addr, "bench", token="root"), calls, threads, 1000, d)))
                http = httpx.Client(base_url=addr, headers={"X-Vault-Token": "root"})
                cts = [http.post("/v1/transit/encrypt/bench", json={"plaintext": base64.b64encode(os.urandom(32))
                                 .decode()}).json()["data"]["ciphertext"] for _ in range(64)]
                rows.append(("ANCHOR bao transit decrypt (HTTP)", timed(
                    lambda i: http.post("/v1/transit/decrypt/bench", json={"ciphertext": cts[i % 64]})
                    .raise_for_status(), calls, threads)))
                http.close()
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return rows


def bench_audit(keys: int) -> list[tuple[str, float]]:
    cfg = parse({"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": [
        {"aesgcm": {"keys": [{"name": "new", "secret": base64.b64encode(bytes(range(1, 33))).decode()},
                             {"name": "old", "secret": base64.b64encode(bytes(range(2, 34))).decode()}]}},
        {"identity": {}}]}]})
    new, old = Key("new", bytes(range(1, 33))), Key("old", bytes(range(2, 34)))
    with etcd() as server:
        c = EtcdClient(server.endpoint)
        for i in range(keys):
            k = f"/registry/secrets/ns{i % 50}/s{i}".encode()
            plain = k8sproto.encode_secret(f"s{i}", f"ns{i % 50}", {"v": os.urandom(64)})
            value = plain if i % 10 == 0 else formats.seal_local("aesgcm", new if i % 3 else old, plain, k)
            c.put(k, value)
        t = time.perf_counter()
        found = [audit.classify(kv, cfg) for kv in c.scan(b"/registry/")]
        ours = time.perf_counter() - t
        assert len(found) == keys
        t = time.perf_counter()
        subprocess.run(["etcdctl", "--endpoints", server.endpoint, "get", "--prefix", "/registry/", "-w", "json"],
                       check=True, capture_output=True, env={**os.environ, "ETCDCTL_API": "3"})
        anchor = time.perf_counter() - t
        c.close()
    return [("strongroom audit-etcd (scan + classify)", keys / ours), ("ANCHOR etcdctl get --prefix -w json",
                                                                       keys / anchor)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--keys", type=int, default=10000)
    args = ap.parse_args()
    print(f"KMS v2 Decrypt over the unix socket: {args.calls} calls, {args.threads} client threads")
    rows = bench_kms(args.calls, args.threads)
    anchor = next((r for n, r in rows if n.startswith("ANCHOR")), None)
    print(f"{'case':40} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs anchor':>10}")
    for name, r in rows:
        ratio = f"{r['ops_s'] / anchor['ops_s']:.2f}x" if anchor else "-"
        print(f"{name:40} {r['ops_s']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {ratio:>10}")
    print(f"\naudit-etcd on a real etcd, {args.keys} keys")
    audit_rows = bench_audit(args.keys)
    base = audit_rows[1][1]
    for name, rate in audit_rows:
        print(f"{name:40} {rate:9.0f} keys/s {rate / base:8.2f}x")


if __name__ == "__main__":
    main()
