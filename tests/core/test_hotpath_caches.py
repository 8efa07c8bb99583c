"""Per-request caches outside the barrier: framework routing and the metrics hook's bound label children."""

from __future__ import annotations

import asyncio
import os
import tempfile

import orjson
import pytest

from strongroom.core.mounts import MountEntry
from strongroom.core.physical.sqlite import SQLitePhysical
from strongroom.sdk.errors import UnsupportedPath
from strongroom.sdk.framework import Backend, Path
from strongroom.sdk.operations import Operation
from strongroom.server.app import App
from strongroom.server.compose import build_core
from strongroom.server.config import ServerConfig
from strongroom.server.extras import install_extras


async def _noop(req, d):  # type: ignore[no-untyped-def]
    return None


def test_route_cache_hands_out_fresh_captures_and_sees_paths_added_later() -> None:
    paths = [Path(pattern=r"a/(?P<name>\w+)", operations={Operation.READ: _noop})]
    backend = Backend(paths=paths)
    route, captures = backend.route("a/x")
    assert route is paths[0]
    assert captures == {"name": "x"}
    captures["name"] = "mutated"
    assert backend.route("a/x")[1] == {"name": "x"}
    with pytest.raises(UnsupportedPath):
        backend.route("b/y")
    paths.append(Path(pattern=r"b/(?P<id>\w+)", operations={Operation.READ: _noop}))
    assert backend.route("b/y")[1] == {"id": "y"}
    for i in range(5000):  # bounded
        backend.route(f"a/n{i}")
    assert len(backend._routes) <= 2048


async def _call(app: App, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []  # type: ignore[type-arg]
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(b"x-vault-token", token.encode())], "client": ("127.0.0.1", 1)}

    async def receive() -> dict:  # type: ignore[type-arg]
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(msg: dict) -> None:  # type: ignore[type-arg]
        sent.append(msg)

    await app(scope, receive, send)
    return sent[0]["status"], sent[-1].get("body", b"")


def test_metrics_hook_counts_every_request_with_cached_children() -> None:
    async def go() -> None:
        d = tempfile.mkdtemp()
        core = build_core(SQLitePhysical(os.path.join(d, "db")))
        core.barrier.enable_read_cache()
        keys, root = await core.initialize(1, 1)
        await core.unseal_with_key(keys[0])
        await core.mount(MountEntry("secret/", "kv", options={"version": "2"}))
        app = App(core)
        install_extras(app, ServerConfig(unauthenticated_metrics_access=True, ui=False))
        assert (await _call(app, "POST", "/v1/secret/data/a", root, orjson.dumps({"data": {"k": "v1"}})))[0] == 200
        for _ in range(3):
            st, body = await _call(app, "GET", "/v1/secret/data/a", root)
            assert st == 200 and orjson.loads(body)["data"]["data"] == {"k": "v1"}
        assert (await _call(app, "POST", "/v1/secret/data/a", root, orjson.dumps({"data": {"k": "v2"}})))[0] == 200
        st, body = await _call(app, "GET", "/v1/secret/data/a", root)
        assert orjson.loads(body)["data"]["data"] == {"k": "v2"}  # the write invalidated the cached read
        assert (await _call(app, "GET", "/v1/secret/data/missing", root))[0] == 404
        st, text = await _call(app, "GET", "/metrics", "")
        lines = text.decode().splitlines()
        assert 'strongroom_requests_total{mount="secret/",operation="read",status="200"} 4.0' in lines
        assert 'strongroom_requests_total{mount="secret/",operation="read",status="404"} 1.0' in lines
        await core.seal_vault()

    asyncio.run(go())
