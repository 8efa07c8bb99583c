"""Login throughput of userpass, approle and kubernetes auth: Strongroom vs OpenBao, side by side in one run.

    .venv/bin/python bench/auth/run.py [--duration 5] [--connections 8] [--format json]

Both servers run in dev mode on this machine; the same wrk load (one fixed login body per method, reused: a
password, a secret ID without a use limit, a service-account JWT) hits each in turn, interleaved per scenario.
Kubernetes logins go to the tests' fake API server (TLS, real RS256 verification, Python threads), shared by
both, so that scenario measures the auth method *and* that server. Prints logins/s, p50/p99, the server's
CPU time per login (from /proc: steadier than logins/s on a shared machine) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import httpx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.auth import kubeapi  # noqa: E402 - the repo root goes on sys.path first
from tests.harness import Server, openbao_server, strongroom_server  # noqa: E402

PASSWORD = "bench-password-0123456789"
LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\\n", summary.requests, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def setup(server: Server, kube: kubeapi.KubeAPI, jwt: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Enables the three methods the same way on either server; returns method -> (login path, body)."""
    c = httpx.Client(base_url=server.addr, headers={"X-Vault-Token": server.root_token}, timeout=30)
    for m in ("userpass", "approle", "kubernetes"):
        c.post(f"/v1/sys/auth/{m}", json={"type": m}).raise_for_status()
    c.post("/v1/auth/userpass/users/bench", json={"password": PASSWORD, "token_policies": "default"}) \
        .raise_for_status()
    c.post("/v1/auth/approle/role/bench", json={"token_policies": "default"}).raise_for_status()
    role_id = c.get("/v1/auth/approle/role/bench/role-id").json()["data"]["role_id"]
    secret_id = c.post("/v1/auth/approle/role/bench/secret-id").json()["data"]["secret_id"]
    c.post("/v1/auth/kubernetes/config", json={"kubernetes_host": kube.url, "kubernetes_ca_cert": kube.ca_pem,
                                                "token_reviewer_jwt": kube.reviewer_jwt,
                                                "disable_local_ca_jwt": True}).raise_for_status()
    c.post("/v1/auth/kubernetes/role/bench", json={"bound_service_account_names": "bench",
                                                    "bound_service_account_namespaces": "bench"}).raise_for_status()
    logins = {
        "userpass": ("/v1/auth/userpass/login/bench", {"password": PASSWORD}),
        "approle": ("/v1/auth/approle/login", {"role_id": role_id, "secret_id": secret_id}),
        "kubernetes": ("/v1/auth/kubernetes/login", {"role": "bench", "jwt": jwt}),
    }
    for path, body in logins.values():  # every login works before we time it
        httpx.post(server.addr + path, json=body, timeout=30).raise_for_status()
    return logins


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children so far (robust to a busy machine, unlike logins/s)."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return total
    return total + sum(cpu_seconds(c) for c in children)


def wrk(server: Server, path: str, body: dict[str, str], duration: int, connections: int) -> dict[str, float]:
    addr = server.addr
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA.format(body=json.dumps(json.dumps(body))))
        script = f.name
    cpu0 = cpu_seconds(server.proc.pid)
    try:
        out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "-s", script,
                              "--timeout", "30s", addr + path], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+)", out)
    if m is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, errors, p50, p99 = (int(g) for g in m.groups())
    cpu_ms = (cpu_seconds(server.proc.pid) - cpu0) * 1000 / max(requests, 1)
    return {"logins_per_s": requests / duration, "errors": errors, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
            "server_cpu_ms_per_login": cpu_ms}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=5, help="seconds per scenario and server")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--methods", default="userpass,approle,kubernetes")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args()
    kube = kubeapi.start()
    kube.cluster.add_sa("bench", "bench")
    jwt = kube.cluster.token("bench", "bench", ttl=24 * 3600)
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        with strongroom_server() as ours, openbao_server() as theirs:
            targets = {"strongroom": (ours, setup(ours, kube, jwt)), "openbao": (theirs, setup(theirs, kube, jwt))}
            for method in args.methods.split(","):
                results[method] = {}
                for name, (server, logins) in targets.items():
                    path, body = logins[method]
                    print(f"{method:<11} {name:<10} ...", file=sys.stderr, flush=True)
                    results[method][name] = wrk(server, path, body, args.duration, args.connections)
    finally:
        kube.close()
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'method':<11} {'server':<10} {'logins/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/login':>12} "
          f"{'errors':>6}")
    for method, by_server in results.items():
        for name, r in by_server.items():
            print(f"{method:<11} {name:<10} {r['logins_per_s']:>9.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                  f"{r['server_cpu_ms_per_login']:>12.2f} {r['errors']:>6}")
        ours, theirs = by_server["strongroom"], by_server["openbao"]
        ratio = ours["logins_per_s"] / max(theirs["logins_per_s"], 1e-9)
        cpu_ratio = ours["server_cpu_ms_per_login"] / max(theirs["server_cpu_ms_per_login"], 1e-9)
        print(f"{method:<11} {'ratio':<10} {ratio:>9.2f}x logins/s; server CPU per login {cpu_ratio:.2f}x "
              "(Strongroom / OpenBao)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
