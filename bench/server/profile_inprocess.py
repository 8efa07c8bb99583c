"""CPU cost per request of the server's hot paths, in process (no network, no load generator):

    .venv/bin/python bench/server/profile_inprocess.py [--n 5000] [--profile]

Counts process CPU time, so it stays meaningful on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time

import orjson

from strongroom.core.mounts import MountEntry
from strongroom.core.physical.sqlite import SQLitePhysical
from strongroom.server.app import App
from strongroom.server.compose import build_core


async def call(app: App, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(b"x-vault-token", token.encode())], "client": ("127.0.0.1", 1)}
    done = False

    async def receive():
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(msg):
        sent.append(msg)

    await app(scope, receive, send)
    return sent[0]["status"], sent[-1].get("body", b"")


async def main(n: int, profile: bool, no_cache: bool = False) -> None:
    d = tempfile.mkdtemp()
    core = build_core(SQLitePhysical(f"{d}/db"))
    if not no_cache:
        core.barrier.enable_read_cache()  # as server/run.py does for SQLite storage
    keys, root = await core.initialize(1, 1)
    await core.unseal_with_key(keys[0])
    await core.mount(MountEntry("secret/", "kv", options={"version": "2"}))
    await core.mount(MountEntry("transit/", "transit"))
    app = App(core)
    await call(app, "POST", "/v1/sys/policies/acl/bench", root,
               orjson.dumps({"policy": 'path "secret/*" { capabilities = ["create","read","update"] }\n'
                                       'path "transit/*" { capabilities = ["update"] }'}))
    st, body = await call(app, "POST", "/v1/auth/token/create", root, orjson.dumps({"policies": ["bench"]}))
    token = orjson.loads(body)["auth"]["client_token"]
    await call(app, "POST", "/v1/secret/data/bench/read", token, orjson.dumps({"data": {"password": "x" * 32}}))
    await call(app, "POST", "/v1/transit/keys/bench", root)
    scenarios = {
        "kv_read": ("GET", "/v1/secret/data/bench/read", b""),
        "lookup_self": ("GET", "/v1/auth/token/lookup-self", b""),
        "transit_encrypt": ("POST", "/v1/transit/encrypt/bench", b'{"plaintext":"aGVsbG8gd29ybGQ="}'),
        "kv_write": ("POST", "/v1/secret/data/bench/w", b'{"data":{"password":"y"}}'),
        "token_create": ("POST", "/v1/auth/token/create", b'{"policies":["bench"],"ttl":"1h"}'),
    }
    for name, (method, path, body) in scenarios.items():
        count = n if name not in ("kv_write", "token_create") else max(200, n // 10)
        tok = root if name == "token_create" else token
        prof = cProfile.Profile() if profile else None
        t0 = time.process_time()
        if prof:
            prof.enable()
        for _ in range(count):
            st, _ = await call(app, method, path, tok, body)
            assert st in (200, 204), (name, st)
        if prof:
            prof.disable()
        cpu = time.process_time() - t0
        print(f"{name:<16} {cpu / count * 1e6:8.1f} µs CPU/request  ({count / cpu:8.0f} req/s per core)")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    await core.seal_vault()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-read-cache", action="store_true", help="leave the barrier's read cache off")
    a = ap.parse_args()
    asyncio.run(main(a.n, a.profile, a.no_read_cache))
