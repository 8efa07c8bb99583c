"""Dynamic PostgreSQL credentials issued per second: Strongroom vs OpenBao, side by side in one run.

    .venv/bin/python bench/database/run.py [--duration 5] [--concurrency 8] [--rounds 2] [--format json]

Starts a throwaway PostgreSQL (tests/services.py), `strongroom server -dev` and `bao server -dev`, configures
database/ identically on both (same connection, same role, max_open_connections 4), then for each round and
server runs `concurrency` clients that GET database/creds/bench in a loop for `duration` seconds (bounded).
Every credential is a real CREATE ROLE in the same database; all leases are revoked between rounds. Prints
creds/s, p50/p99 latency, the server's CPU ms per credential (from /proc) and the Strongroom/OpenBao ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid

import httpx
import psycopg

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests import services  # noqa: E402 - the repo root goes on sys.path first
from tests.harness import Server, openbao_server, strongroom_server  # noqa: E402

CREATE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
MAX_REQUESTS = 200_000


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def configure(server: Server, pg: services.Postgres, db: str) -> None:
    c = httpx.Client(base_url=server.addr, headers={"X-Vault-Token": server.root_token}, timeout=30)
    c.post("/v1/sys/mounts/database", json={"type": "database"}).raise_for_status()
    url = f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:{pg.port}/{db}"
    c.post("/v1/database/config/pg", json={"plugin_name": "postgresql-database-plugin", "connection_url": url,
                                           "username": pg.user, "password": pg.password, "allowed_roles": "bench",
                                           "max_open_connections": 4}).raise_for_status()
    c.post("/v1/database/roles/bench", json={"db_name": "pg", "creation_statements": CREATE,
                                             "default_ttl": "1h", "max_ttl": "2h"}).raise_for_status()
    c.get("/v1/database/creds/bench").raise_for_status()


def revoke_all(server: Server) -> None:
    httpx.put(f"{server.addr}/v1/sys/leases/revoke-prefix/database/creds/bench",
              headers={"X-Vault-Token": server.root_token}, json={"sync": True}, timeout=600).raise_for_status()


async def load(server: Server, duration: float, concurrency: int) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    headers = {"X-Vault-Token": server.root_token}
    async with httpx.AsyncClient(base_url=server.addr, headers=headers, timeout=60,
                                 limits=httpx.Limits(max_connections=concurrency)) as c:
        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline and len(lat) + errors < MAX_REQUESTS:
                t0 = time.perf_counter()
                r = await c.get("/v1/database/creds/bench")
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t0)
                else:
                    errors += 1

        cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.monotonic() - t0, cpu_seconds(server.proc.pid) - cpu0
    lat.sort()
    n = len(lat)
    return {"creds": n, "errors": errors, "creds_per_s": n / elapsed,
            "p50_ms": 1000 * statistics.median(lat) if lat else 0.0,
            "p99_ms": 1000 * lat[int(0.99 * (n - 1))] if lat else 0.0,
            "cpu_ms_per_cred": 1000 * cpu / n if n else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--format", choices=["table", "json"], default="table")
    args = ap.parse_args()
    results: dict[str, list[dict[str, float]]] = {"strongroom": [], "openbao": []}
    with services.postgres() as pg:
        db = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        with strongroom_server() as ours, openbao_server() as bao:
            servers = {"strongroom": ours, "openbao": bao}
            for s in servers.values():
                configure(s, pg, db)
            for _ in range(args.rounds):  # interleaved, so both see the same machine load
                for name, s in servers.items():
                    results[name].append(asyncio.run(load(s, args.duration, args.concurrency)))
                    revoke_all(s)
    best = {k: max(v, key=lambda r: r["creds_per_s"]) for k, v in results.items()}
    ratio = best["strongroom"]["creds_per_s"] / max(best["openbao"]["creds_per_s"], 1e-9)
    cpu_ratio = best["strongroom"]["cpu_ms_per_cred"] / max(best["openbao"]["cpu_ms_per_cred"], 1e-9)
    if args.format == "json":
        print(json.dumps({"rounds": results, "best": best, "ratio": ratio, "cpu_ratio": cpu_ratio}, indent=2))
        return
    print(f"{'server':<11} {'round':>5} {'creds/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/cred':>12} {'errors':>6}")
    for name, rounds in results.items():
        for i, r in enumerate(rounds, 1):
            print(f"{name:<11} {i:>5} {r['creds_per_s']:>9.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                  f"{r['cpu_ms_per_cred']:>12.2f} {int(r['errors']):>6}")
    print(f"\nbest creds/s ratio Strongroom/OpenBao: {ratio:.2f}x   (CPU per credential ratio: {cpu_ratio:.2f}x)")


if __name__ == "__main__":
    main()
