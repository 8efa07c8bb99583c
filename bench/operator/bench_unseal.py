"""Unseal N SealedSecrets through the controller vs the raw cost of the crypto, side by side, in one run.

    PYTHONPATH=. .venv/bin/python bench/operator/bench_unseal.py --count 1000 --bits 4096

* raw RSA      : N x RSA-OAEP decrypt of the session keys alone (the floor: what upstream's Go also pays)
* raw unseal   : N x strongroom.sealing.unseal_sealed_secret (RSA + AES-GCM + base64 + Secret assembly)
* controller   : the real runtime + SealedSecret controller against the fake API server (separate process,
                 real HTTP): list+watch, N x (unseal, create Secret, patch status, Event); timed from start
                 until every SealedSecret has reached Synced in the controller.
Ratios are controller / raw. The fake API server runs in its own process, as a real one would.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))


def _serve(conn: Any) -> None:
    from tests.fakekube import FakeKube

    with FakeKube(history=100_000) as fake:
        conn.send(fake.url)
        while conn.recv() == "cpu":  # answer CPU-time queries until told to stop
            t = os.times()
            conn.send(t.user + t.system)


def _secret(i: int, items: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": f"s{i}", "namespace": "bench"}, "type": "Opaque",
            "data": {f"k{j}": base64.b64encode(f"value-{i}-{j}".encode()).decode() for j in range(items)}}


def _cpu(conn: Any) -> tuple[float, float]:
    conn.send("cpu")
    t = os.times()
    return t.user + t.system, conn.recv()


async def _controller(url: str, sealed: list[dict[str, Any]], key_secret: dict[str, Any], workers: int,
                      conn: Any, profile: str | None = None, events: bool = True) -> tuple[float, float, float]:
    from lightkube.config.kubeconfig import KubeConfig

    from strongroom.operator.kube import Kube, kinds
    from strongroom.operator.runtime import Runtime
    from strongroom.operator.sealedsecret import SealedSecretConfig, install

    cfg = KubeConfig.from_dict({
        "clusters": [{"name": "fake", "cluster": {"server": url}}], "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u", "namespace": "kube-system"}}],
        "current-context": "fake"})
    async with Kube(cfg) as kube:
        await kube.create(kinds.SECRET, key_secret)
        sem = asyncio.Semaphore(16)

        async def put(obj: dict[str, Any]) -> None:
            async with sem:
                await kube.create(kinds.SEALED_SECRET, {k: v for k, v in obj.items()
                                                         if k not in ("apiVersion", "kind")})

        await asyncio.gather(*(put(o) for o in sealed))
        runtime = Runtime(kube, namespace="kube-system", leader_election=False, health_addr=None)
        app = install(runtime, SealedSecretConfig(namespace="kube-system", listen=None, workers=workers,
                                                  renew_period=None, normal_events=events))
        prof = None
        if profile:  # only the timed section
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        own0, server0 = _cpu(conn)
        started = time.perf_counter()
        task = asyncio.ensure_future(runtime.run())
        while len(app.reconciler._memo) < len(sealed):
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        own1, server1 = _cpu(conn)
        if prof is not None and profile:
            prof.disable()
            prof.dump_stats(profile)
        runtime.request_stop()
        await task
        secrets, _ = await kube.list(kinds.SECRET, "bench")
        assert len(secrets) == len(sealed), "not every Secret was created"
        return elapsed, own1 - own0, server1 - server0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--items", type=int, default=1, help="encrypted items per SealedSecret")
    ap.add_argument("--bits", type=int, default=4096)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--no-normal-events", action="store_true", help="controller without Normal Events")
    ap.add_argument("--profile", help="write a cProfile of the controller run to this file")
    args = ap.parse_args()

    from strongroom.crypto import _primitives as p
    from strongroom.sealing import (
        generate_key_pair,
        key_pair_secret,
        load_recipient,
        seal_secret,
        unseal_sealed_secret,
    )

    key, cert = generate_key_pair(args.bits)
    pub = load_recipient(cert)
    print(f"sealing {args.count} SealedSecrets x {args.items} item(s) with RSA-{args.bits} ...", flush=True)
    sealed = [seal_secret(_secret(i, args.items), pub) for i in range(args.count)]
    wrapped = []
    for ss in sealed:
        for value in ss["spec"]["encryptedData"].values():
            raw = base64.b64decode(value)
            n = int.from_bytes(raw[:2], "big")
            wrapped.append((raw[2:2 + n], f"bench/{ss['metadata']['name']}".encode()))

    rsa_cpu: list[float] = []

    def raw_rsa() -> float:
        t, c = time.perf_counter(), time.process_time()
        for ct, label in wrapped:
            p.rsa_oaep_decrypt(key, ct, label)
        rsa_cpu.append(time.process_time() - c)
        return time.perf_counter() - t

    def raw_unseal() -> float:
        t = time.perf_counter()
        for ss in sealed:
            unseal_sealed_secret(ss, [key])
        return time.perf_counter() - t

    key_secret = key_pair_secret(key, cert, namespace="kube-system")
    key_secret.pop("apiVersion"), key_secret.pop("kind")
    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    server.start()
    url = parent.recv()
    try:
        rsa_before, unseal_t = raw_rsa(), raw_unseal()
        ctl, own_cpu, server_cpu = asyncio.run(_controller(url, sealed, key_secret, args.workers, parent,
                                                           args.profile, not args.no_normal_events))
        rsa_after = raw_rsa()
    finally:
        parent.send("stop")
        server.join(10)
    rsa = statistics.mean([rsa_before, rsa_after])
    n = args.count
    print(f"{'side':<34}{'total s':>10}{'ms / object':>14}{'ratio':>8}")
    print(f"{'raw RSA-OAEP decrypt (floor)':<34}{rsa:>10.2f}{rsa / n * 1000:>14.2f}{1.0:>8.2f}")
    print(f"{'raw unseal_sealed_secret':<34}{unseal_t:>10.2f}{unseal_t / n * 1000:>14.2f}{unseal_t / rsa:>8.2f}")
    print(f"{'controller (end to end, HTTP)':<34}{ctl:>10.2f}{ctl / n * 1000:>14.2f}{ctl / rsa:>8.2f}")
    print(f"CPU during the timed controller run: operator process (RSA threads included) "
          f"{own_cpu:.2f}s, fake API server process {server_cpu:.2f}s")
    cpu = statistics.mean(rsa_cpu)
    print(f"CPU: raw RSA {cpu:.2f}s; controller / raw RSA in CPU = {(own_cpu + server_cpu) / cpu:.3f} "
          f"(both processes), {own_cpu / cpu:.3f} (operator only)")
    print(f"controller / raw RSA = {ctl / rsa:.3f} (target <= 1.2); "
          f"raw RSA before/after = {rsa_before:.2f}s/{rsa_after:.2f}s")


if __name__ == "__main__":
    main()
