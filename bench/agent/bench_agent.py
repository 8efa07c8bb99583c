"""Init-container render time and sidecar memory: `strongroom agent` vs OpenBao Agent (`bao agent`, the anchor),
side by side against the same Strongroom dev server, the same token and the same secrets.

    .venv/bin/python bench/agent/bench_agent.py [--secrets 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import hvac
from tests.harness import BAO, STRONGROOM, strongroom_server

TPL = '{{ with secret "secret/data/bench/s%d" }}{{ .Data.data.password }}{{ end }}'


def _bao_config(work: str, addr: str, n: int, once: bool) -> str:
    blocks = "\n".join(f'template {{\n  destination = "{work}/bao/s{i}"\n  contents = {_hcl(TPL % i)}\n}}'
                       for i in range(n))
    cfg = f"""vault {{ address = "{addr}" }}
exit_after_auth = {"true" if once else "false"}
pid_file = "{work}/bao.pid"
auto_auth {{
  method "token_file" {{ config = {{ token_file_path = "{work}/token" }} }}
}}
template_config {{ static_secret_render_interval = "5m" }}
{blocks}
"""
    path = os.path.join(work, f"bao-{once}.hcl")
    with open(path, "w") as f:
        f.write(cfg)
    return path


def _hcl(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ours(work: str, addr: str, n: int, once: bool) -> list[str]:
    args = [STRONGROOM, "agent", "run", "--address", addr, "--token-file", f"{work}/token", "--log-level", "error"]
    for i in range(n):
        tf = f"{work}/tpl{i}"
        with open(tf, "w") as f:
            f.write(TPL % i)
        args += ["--template", f"{work}/ours/s{i}={tf}"]
    return args + (["--once"] if once else [])


def _time(cmd: list[str], env: dict[str, str], check_dir: str, n: int) -> float:
    shutil.rmtree(check_dir, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    dt = time.perf_counter() - t0
    assert len(os.listdir(check_dir)) == n, f"{cmd[0]} rendered {len(os.listdir(check_dir))}/{n}"
    return dt


def _rss_kib(cmd: list[str], env: dict[str, str], check_dir: str, n: int) -> int:
    shutil.rmtree(check_dir, ignore_errors=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (os.path.isdir(check_dir) and len(os.listdir(check_dir)) >= n):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(1.0)
        with open(f"/proc/{proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--secrets", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-agent-")
    with strongroom_server() as server:
        root = hvac.Client(url=server.addr, token=server.root_token)
        for i in range(a.secrets):
            root.secrets.kv.v2.create_or_update_secret(f"bench/s{i}", secret={"password": f"p{i}"},
                                                       mount_point="secret")
        with open(f"{work}/token", "w") as f:
            f.write(root.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env.update(HOME=work, BAO_DISABLE_MLOCK="true")
        ours_once, bao_once = _ours(work, server.addr, a.secrets, True), \
            [BAO, "agent", "-config", _bao_config(work, server.addr, a.secrets, True)]
        ours_t, bao_t = [], []
        for _ in range(a.runs):  # interleaved so load changes hit both sides alike
            ours_t.append(_time(ours_once, env, f"{work}/ours", a.secrets))
            bao_t.append(_time(bao_once, env, f"{work}/bao", a.secrets))
        ours_rss = _rss_kib(_ours(work, server.addr, a.secrets, False), env, f"{work}/ours", a.secrets)
        bao_rss = _rss_kib([BAO, "agent", "-config", _bao_config(work, server.addr, a.secrets, False)], env,
                           f"{work}/bao", a.secrets)
    shutil.rmtree(work, ignore_errors=True)
    mo, mb = statistics.median(ours_t), statistics.median(bao_t)
    print(f"secrets={a.secrets} runs={a.runs}")
    print(f"{'':28}{'strongroom':>12}{'bao agent':>12}{'ratio':>8}")
    print(f"{'init render, median (s)':28}{mo:12.3f}{mb:12.3f}{mo / mb:8.2f}")
    print(f"{'sidecar RSS (MiB)':28}{ours_rss / 1024:12.1f}{bao_rss / 1024:12.1f}{ours_rss / bao_rss:8.2f}")


if __name__ == "__main__":
    main()
