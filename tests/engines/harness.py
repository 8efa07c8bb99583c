"""Drives an engine Backend the way the core does: existence check -> CREATE/UPDATE, then handle()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from strongroom.sdk import MemoryStorage, Operation, Request, Response, Storage
from strongroom.sdk.framework import Backend, BackendConfig

START_NS = 1_700_000_000_123_456_789


class FakeClock:
    def __init__(self, ns: int = START_NS) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1_000_000_000)


class YieldingStorage(MemoryStorage):
    """MemoryStorage that gives other tasks a turn at every call, so races can actually interleave."""

    async def get(self, key: str) -> bytes | None:
        await asyncio.sleep(0)
        return await super().get(key)

    async def put(self, key: str, value: bytes) -> None:
        await asyncio.sleep(0)
        await super().put(key, value)


class Harness:
    def __init__(self, build: Callable[[BackendConfig], Backend], *, options: dict[str, str] | None = None,
                 mount_type: str = "kv", storage: Storage | None = None, default_lease_ttl: int = 0) -> None:
        self.storage = storage if storage is not None else MemoryStorage()
        self.changes: list[str] = []
        self.runner = asyncio.Runner()

        async def on_change(path: str) -> None:
            self.changes.append(path)

        self.config = BackendConfig(storage=self.storage, mount_path="secret/", mount_type=mount_type,
                                    options=options or {}, on_change=on_change,
                                    default_lease_ttl=default_lease_ttl)
        self.backend = build(self.config)

    def close(self) -> None:
        self.runner.close()

    def request(self, op: Operation, path: str, data: dict[str, Any] | None = None,
                query: dict[str, str] | None = None, token_id: str = "") -> Request:
        return Request(operation=op, path=path, data=dict(data or {}), storage=self.storage,
                       query=query or {}, client_token_id=token_id)

    async def acall(self, op: Operation, path: str, data: dict[str, Any] | None = None,
                    query: dict[str, str] | None = None, token_id: str = "") -> Response | None:
        req = self.request(op, path, data, query, token_id)
        if op in (Operation.CREATE, Operation.UPDATE):
            exists = await self.backend.exists(req)
            req.operation = Operation.CREATE if exists is False else Operation.UPDATE
        return await self.backend.handle(req)

    def call(self, op: Operation, path: str, data: dict[str, Any] | None = None,
             query: dict[str, str] | None = None, token_id: str = "") -> Response | None:
        return self.runner.run(self.acall(op, path, data, query, token_id))

    def read(self, path: str, **query: str) -> Response | None:
        return self.call(Operation.READ, path, query=query)

    def write(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Response | None:
        return self.call(Operation.UPDATE, path, data, **kw)

    def patch(self, path: str, data: dict[str, Any]) -> Response | None:
        return self.call(Operation.PATCH, path, data)

    def delete(self, path: str) -> Response | None:
        return self.call(Operation.DELETE, path)

    def list(self, path: str, **query: str) -> Response | None:
        return self.call(Operation.LIST, path, query=query)

    def exists(self, path: str) -> bool | None:
        return self.runner.run(self.backend.exists(self.request(Operation.UPDATE, path)))
