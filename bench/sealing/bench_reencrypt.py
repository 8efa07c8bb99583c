"""In-cluster re-encryption: `strongroom seal reencrypt --in-cluster` (in process, item by item, stale objects
only) vs the kubeseal workflow shape (every object POSTed to the controller's /v1/rotate, then written back),
both against the same fake API server and the real controller, in one run.

    .venv/bin/python bench/sealing/bench_reencrypt.py [--objects 40] [--trials 3]

Upstream has no in-cluster re-encryption and its Go kubeseal is not installable here, so the anchor is the
workflow users script today (`kubectl get sealedsecrets -o json | kubeseal --re-encrypt | kubectl replace`),
run against our controller's /v1/rotate (which is upstream's API) with its rate limit lifted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, start_operator

from strongroom.operator.kube import Kube, kinds
from strongroom.operator.sealedsecret.api import RateLimiter
from strongroom.operator.sealedsecret.reencrypt import reencrypt_in_cluster
from strongroom.sealing import seal_secret


def _secret(ns: str, i: int) -> dict[str, object]:
    data = {f"k{j}": base64.b64encode(f"value-{i}-{j}".encode() * 8).decode() for j in range(3)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}", "namespace": ns}, "data": data}


async def _populate(fake: FakeKube, ns: str, n: int, public: object) -> None:
    for i in range(n):
        fake.put("sealedsecrets", seal_secret(_secret(ns, i), public), group="bitnami.com")  # type: ignore[arg-type]


async def _via_rotate(kube: Kube, url: str, ns: str) -> None:
    items, _ = await kube.list(kinds.SEALED_SECRET, ns)
    async with httpx.AsyncClient() as c:
        for obj in items:
            r = await c.post(f"{url}/v1/rotate", json=obj)
            r.raise_for_status()
            obj["spec"] = r.json()["spec"]
            obj.pop("status", None)
            await kube.replace(kinds.SEALED_SECRET, obj)


async def main(n: int, trials: int) -> None:
    with FakeKube() as fake:
        op = await start_operator(fake, update_status=False)
        try:
            op.app.api.limiter = RateLimiter(rate=1e9, burst=10**9)
            await op.app.rotate()
            old_public = op.app.registry.keys[1].private_key.public_key()
            keys = op.app.registry.keys
            ours, anchor, noop = [], [], []
            async with Kube(fake.config(CTRL_NS)) as kube:
                for t in range(trials):
                    await _populate(fake, f"ours{t}", n, old_public)
                    await _populate(fake, f"anchor{t}", n, old_public)
                    start = time.perf_counter()
                    summary = await reencrypt_in_cluster(kube, keys, namespace=f"ours{t}")
                    ours.append(time.perf_counter() - start)
                    assert summary.counts() == {"reencrypted": n}
                    start = time.perf_counter()
                    await _via_rotate(kube, op.api_url, f"anchor{t}")
                    anchor.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    summary = await reencrypt_in_cluster(kube, keys, namespace=f"ours{t}")
                    noop.append(time.perf_counter() - start)
                    assert summary.counts() == {"up-to-date": n}
        finally:
            await op.stop()
    o, a, z = statistics.median(ours), statistics.median(anchor), statistics.median(noop)
    print(f"{n} stale SealedSecrets (3 items each), RSA-2048 keys, median of {trials} trials")
    print(f"  strongroom seal reencrypt --in-cluster : {o:7.3f} s  ({n / o:6.1f} objects/s)")
    print(f"  /v1/rotate + replace per object        : {a:7.3f} s  ({n / a:6.1f} objects/s)")
    print(f"  ratio (> 1 = we are faster)            : {a / o:7.2f}")
    print(f"  second run, nothing stale (no writes)  : {z:7.3f} s  ({n / z:6.1f} objects/s)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--objects", type=int, default=40)
    p.add_argument("--trials", type=int, default=3)
    args = p.parse_args()
    asyncio.run(main(args.objects, args.trials))
