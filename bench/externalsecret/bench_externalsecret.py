"""ExternalSecret benchmark: N ExternalSecrets against a real Strongroom server, our controller vs an ESO anchor.

    .venv/bin/python bench/externalsecret/bench_externalsecret.py [--es 1000] [--keys 250] [--interval 20]

Measures, for our controller (`strongroom operator run --controllers externalsecret`, a real process):
initial sync time of N ExternalSecrets, provider HTTP calls and Kubernetes writes during one full refresh
cycle when nothing changed, the operator's RSS, and change-to-Secret latency (pushed change events).

The anchor: the External Secrets Operator itself cannot run here (no network beyond package registries), so
the anchor replays what ESO does per refresh of each ExternalSecret (externalsecret_controller.go): one provider
read per `data` entry (its client cache does not share reads across ExternalSecrets) and one status update
(`refreshTime`) per ExternalSecret, through hvac and the Kubernetes API. Change latency for ESO is the polling
interval (its only trigger), reported as `interval / 2` on average.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import hvac

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.fakekube import FakeKube  # noqa: E402
from tests.harness import strongroom_server  # noqa: E402
from tests.services import free_port  # noqa: E402

ESO = "external-secrets.io"


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()) and (head == name or head.startswith(name + "{")):
            total += float(value)
    return total


def _writes(fake: FakeKube) -> int:
    return sum(1 for m, p in fake.requests if m != "GET" and "/events" not in p)


def _ready_count(fake: FakeKube) -> int:
    n = 0
    for es in fake.objects("externalsecrets", "bench", group=ESO):
        conds = (es.get("status") or {}).get("conditions") or []
        n += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
    return n


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_ours(fake: FakeKube, server: Any, n_es: int, n_keys: int, interval: int) -> dict[str, Any]:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="es-bench-"))
    kc = fake.write_kubeconfig(tmp / "kubeconfig")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    t0 = time.monotonic()
    proc = subprocess.Popen([str(REPO / ".venv/bin/strongroom"), "operator", "run", "--kubeconfig", str(kc),
                             "--namespace", "kube-system", "--controllers", "externalsecret", "--workers", "8",
                             "--health-addr", f"127.0.0.1:{port}", "--no-leader-elect", "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    try:
        while _ready_count(fake) < n_es:
            if proc.poll() is not None:
                raise RuntimeError("operator exited")
            if time.monotonic() - t0 > 600:
                raise TimeoutError("initial sync took over 10 minutes")
            time.sleep(1.0)  # counting copies every object under the fake API's lock: not too often
        sync_s = time.monotonic() - t0
        time.sleep(1.0)  # let trailing status writes and events settle
        # one full refresh cycle with nothing changed: refreshes happen on wall-clock ticks of the interval,
        # so measure from just before one tick to just before the next (skipping the first, partial tick)
        _sleep_until_tick(interval, before=1.0, skip=1)
        m0 = httpx.get(metrics_url).text
        w0 = _writes(fake)
        _sleep_until_tick(interval, before=1.0)
        m1 = httpx.get(metrics_url).text
        w1 = _writes(fake)
        calls = (_metric(m1, "externalsecret_provider_api_calls_count_total")
                 - _metric(m0, "externalsecret_provider_api_calls_count_total"))
        syncs = _metric(m1, "externalsecret_sync_calls_total") - _metric(m0, "externalsecret_sync_calls_total")
        initial_calls = _metric(m0, "externalsecret_provider_api_calls_count_total")
        rss = _rss_mb(proc.pid)
        latencies = _change_latency(fake, server, n_keys)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return {"initial_sync_s": round(sync_s, 2), "initial_provider_calls": int(initial_calls),
            "cycle_syncs": int(syncs), "cycle_provider_calls": int(calls), "cycle_k8s_writes": w1 - w0,
            "rss_mb": round(rss, 1), "change_latency_ms_median": round(statistics.median(latencies), 1),
            "change_latency_ms_max": round(max(latencies), 1)}


def _sleep_until_tick(interval: int, before: float, skip: int = 0) -> None:
    now = time.time()
    target = (int(now // interval) + 1 + skip) * interval - before
    if target <= now:
        target += interval
    time.sleep(target - now)


def _change_latency(fake: FakeKube, server: Any, n_keys: int, samples: int = 10) -> list[float]:
    client = hvac.Client(url=server.addr, token="root")
    out = []
    for i in range(samples):
        key = i * max(1, n_keys // samples)
        value = f"changed-{i}-{time.time()}"
        t = time.monotonic()
        client.secrets.kv.v2.create_or_update_secret(f"bench/k{key}", secret={"pw": value}, mount_point="secret")
        want = base64.b64encode(value.encode()).decode()
        while (fake.get("secrets", f"es-{key}", "bench") or {}).get("data", {}).get("pw") != want:
            if time.monotonic() - t > 30:
                raise TimeoutError("change did not arrive")
            time.sleep(0.002)
        out.append((time.monotonic() - t) * 1000)
    return out


def run_anchor(fake: FakeKube, server: Any, n_es: int, n_keys: int, interval: int) -> dict[str, Any]:
    """ESO's per-refresh work for every ExternalSecret: read each remoteRef, update status.refreshTime."""
    client = hvac.Client(url=server.addr, token="root")
    http = httpx.Client(base_url=fake.url, headers={"Authorization": "Bearer fake-token"})
    w0 = _writes(fake)

    def one(i: int) -> None:
        client.secrets.kv.v2.read_secret_version(f"bench/k{i % n_keys}", mount_point="secret",
                                                 raise_on_deleted_version=True)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        http.patch(f"/apis/{ESO}/v1/namespaces/bench/externalsecrets/es-{i}/status",
                   content=json.dumps({"status": {"refreshTime": now}}),
                   headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()

    t = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(n_es)))
    cycle_s = time.monotonic() - t
    return {"cycle_provider_calls": n_es, "cycle_k8s_writes": _writes(fake) - w0, "cycle_s": round(cycle_s, 2),
            "change_latency_ms_median": interval * 1000 / 2, "change_latency_ms_max": interval * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--es", type=int, default=1000, help="ExternalSecrets")
    ap.add_argument("--keys", type=int, default=250, help="distinct KV keys they read")
    ap.add_argument("--interval", type=int, default=20, help="refreshInterval in seconds")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args()
    with strongroom_server() as server, FakeKube() as fake:
        fake.register(ESO, "v1", "ClusterExternalSecret", "clusterexternalsecrets", namespaced=False)
        fake.register(ESO, "v1alpha1", "PushSecret", "pushsecrets")
        client = hvac.Client(url=server.addr, token="root")
        for k in range(args.keys):
            client.secrets.kv.v2.create_or_update_secret(f"bench/k{k}", secret={"pw": f"v{k}", "user": "u"},
                                                         mount_point="secret")
        fake.put("namespaces", {"metadata": {"name": "bench"}})
        fake.put("secrets", {"metadata": {"name": "t", "namespace": "bench"},
                             "data": {"token": base64.b64encode(b"root").decode()}})
        fake.put("secretstores", {"metadata": {"name": "sr", "namespace": "bench"}, "spec": {"provider": {"vault": {
            "server": server.addr, "path": "secret", "auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}}}},
            group=ESO)
        for i in range(args.es):
            fake.put("externalsecrets", {"metadata": {"name": f"es-{i}", "namespace": "bench"}, "spec": {
                "refreshInterval": f"{args.interval}s", "secretStoreRef": {"name": "sr"},
                "data": [{"secretKey": "pw", "remoteRef": {"key": f"bench/k{i % args.keys}", "property": "pw"}}]}},
                group=ESO)
        ours = run_ours(fake, server, args.es, args.keys, args.interval)
        anchor = run_anchor(fake, server, args.es, args.keys, args.interval)
    result = {"params": vars(args), "strongroom": ours, "eso_model": anchor, "ratios": {
        "provider_calls_per_cycle": round(anchor["cycle_provider_calls"] / max(1, ours["cycle_provider_calls"]), 1),
        "k8s_writes_per_cycle": f'{anchor["cycle_k8s_writes"]} vs {ours["cycle_k8s_writes"]}',
        "change_latency": round(anchor["change_latency_ms_median"] / ours["change_latency_ms_median"], 1)}}
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
