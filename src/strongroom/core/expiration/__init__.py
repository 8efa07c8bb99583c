"""Leases: every secret with a TTL is persisted here; the manager renews and revokes through the engine's
SecretType (routed back through the router), on time, after restarts too.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from strongroom.core import clock
from strongroom.core.barrier import View
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Request, SecretInfo

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.request import ApiResult
    from strongroom.core.router import Route
    from strongroom.core.tokens.entry import TokenEntry

log = logging.getLogger("strongroom.expiration")


@dataclass
class Lease:
    lease_id: str
    mount_accessor: str
    path: str
    secret_type: str
    internal: dict[str, Any]
    data: dict[str, Any]
    issue_time: float
    expire_time: float
    max_expire_time: float
    renewable: bool
    token_hash: str = ""
    last_renewal_time: float = 0.0
    revoke_attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Lease:
        d = orjson.loads(raw)
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _key(lease_id: str) -> str:
    return "id/" + lease_id


class ExpirationManager:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.view = View(core.barrier, "sys/expire/")
        self._heap: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.run_expiry = True  # false on non-leader replicas

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        self._heap = []
        for lease_id in await self._all_ids():
            raw = await self.view.get(_key(lease_id))
            if raw is not None:
                lease = Lease.from_json(raw)
                heapq.heappush(self._heap, (lease.expire_time, lease.lease_id))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _all_ids(self, prefix: str = "") -> list[str]:
        from strongroom.sdk.storage import list_recursive

        return [k[len("id/"):] for k in await list_recursive(self.view, "id/" + prefix)]

    async def _loop(self) -> None:
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the loop alive; the failing lease is retried with backoff
                log.exception("lease expiry pass failed")
            self._wake.clear()
            delay = 1.0
            if self._heap:
                delay = max(0.05, min(1.0, self._heap[0][0] - clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _tick(self) -> None:
        if not self.run_expiry or self.core.sealed:
            return
        now = clock.now()
        while self._heap and self._heap[0][0] <= now:
            _, lease_id = heapq.heappop(self._heap)
            raw = await self.view.get(_key(lease_id))
            if raw is None:
                continue
            lease = Lease.from_json(raw)
            if lease.expire_time > now:  # renewed since it was queued
                heapq.heappush(self._heap, (lease.expire_time, lease_id))
                continue
            try:
                await self._revoke(lease)
            except Exception:
                lease.revoke_attempts += 1
                backoff = min(300.0, 2.0 ** min(lease.revoke_attempts, 8))
                lease.expire_time = now + backoff
                await self.view.put(_key(lease_id), lease.to_json())
                heapq.heappush(self._heap, (lease.expire_time, lease_id))
                log.warning("revoking lease %s failed (attempt %d); retrying in %.0fs",
                            lease_id, lease.revoke_attempts, backoff)

    # --- register / renew / revoke ------------------------------------------------------------------------------

    async def register(self, result: ApiResult, req: Request, route: Route, token_hash: str) -> None:
        resp = result.response
        assert resp is not None and resp.secret is not None
        secret = resp.secret
        cfg = route.entry.config
        mount_default = int(cfg.get("default_lease_ttl", 0)) or self.core.config.default_lease_ttl
        mount_max = int(cfg.get("max_lease_ttl", 0)) or self.core.config.max_lease_ttl
        ttl = secret.ttl or mount_default
        max_ttl = min(secret.max_ttl or mount_max, mount_max)
        ttl = min(ttl, max_ttl)
        now = clock.now()
        lease_id = f"{req.mount_point}{req.path}/{uuid.uuid4().hex[:24]}"
        lease = Lease(lease_id, route.entry.accessor, req.mount_point + req.path, secret.type, secret.internal,
                      {}, now, now + ttl, now + max_ttl, secret.renewable, token_hash)
        await self.view.put(_key(lease_id), lease.to_json())
        if token_hash:
            await self.view.put(f"token/{token_hash}/{_flat(lease_id)}", lease_id.encode())
        heapq.heappush(self._heap, (lease.expire_time, lease_id))
        self._wake.set()
        result.lease_id, result.lease_duration, result.renewable = lease_id, ttl, secret.renewable

    async def lookup(self, lease_id: str) -> Lease | None:
        raw = await self.view.get(_key(lease_id))
        return None if raw is None else Lease.from_json(raw)

    async def list_prefix(self, prefix: str) -> list[str]:
        return await self.view.list("id/" + prefix)

    def _request(self, lease: Lease, op: Operation) -> tuple[Request, Any]:
        route = self.core.router.by_accessor(lease.mount_accessor)
        if route is None:
            raise InvalidRequest(f"lease {lease.lease_id}: its mount no longer exists")
        st = route.backend.secret_type(lease.secret_type)
        if st is None:
            raise InvalidRequest(f"lease {lease.lease_id}: unknown secret type {lease.secret_type}")
        req = Request(operation=op, path=lease.path[len(route.prefix):], storage=route.view,
                      mount_point=route.prefix, mount_type=route.entry.type,
                      secret=SecretInfo(lease.secret_type, internal=lease.internal, lease_id=lease.lease_id,
                                        issue_time=lease.issue_time))
        return req, st

    async def _revoke(self, lease: Lease, *, force: bool = False) -> None:
        try:
            req, st = self._request(lease, Operation.REVOKE)
            await st.revoke(req, lease.internal)
        except Exception:
            if not force:
                raise
            log.warning("force-revoking lease %s despite a backend error", lease.lease_id)
        await self.view.delete(_key(lease.lease_id))
        if lease.token_hash:
            await self.view.delete(f"token/{lease.token_hash}/{_flat(lease.lease_id)}")

    async def revoke(self, lease_id: str, *, force: bool = False) -> None:
        lease = await self.lookup(lease_id)
        if lease is None:
            return  # Vault: revoking an unknown lease succeeds
        await self._revoke(lease, force=force)

    async def revoke_prefix(self, prefix: str, *, force: bool = False) -> int:
        n = 0
        for lease_id in await self._all_ids(prefix):
            await self.revoke(lease_id, force=force)
            n += 1
        return n

    async def revoke_by_token(self, entry: TokenEntry) -> None:
        for child in await self.view.list(f"token/{entry.id_hash}/"):
            raw = await self.view.get(f"token/{entry.id_hash}/{child}")
            if raw is not None:
                try:
                    await self.revoke(raw.decode())
                except Exception:
                    log.warning("revoking a lease of a revoked token failed; it stays queued for expiry")

    async def renew(self, lease_id: str, increment: int) -> Lease:
        lease = await self.lookup(lease_id)
        if lease is None:
            raise InvalidRequest("lease not found")
        if not lease.renewable:
            raise InvalidRequest("lease is not renewable")
        now = clock.now()
        if lease.expire_time <= now:
            raise InvalidRequest("lease expired")
        req, st = self._request(lease, Operation.RENEW)
        req.secret.increment = increment  # type: ignore[union-attr]
        ttl = increment or int(lease.expire_time - lease.issue_time)
        if st.renew is not None:
            resp = await st.renew(req, lease.internal)
            if resp is not None and resp.secret is not None and resp.secret.ttl:
                ttl = resp.secret.ttl
        new_expire = min(now + ttl, lease.max_expire_time)
        lease.expire_time, lease.last_renewal_time = new_expire, now
        await self.view.put(_key(lease_id), lease.to_json())
        heapq.heappush(self._heap, (new_expire, lease_id))
        return lease

    async def tidy(self) -> int:
        """Drops token->lease index entries whose lease no longer exists."""
        n = 0
        for tok in await self.view.list("token/"):
            for child in await self.view.list(f"token/{tok}"):
                raw = await self.view.get(f"token/{tok}{child}")
                if raw is None or await self.lookup(raw.decode()) is None:
                    await self.view.delete(f"token/{tok}{child}")
                    n += 1
        return n


def _flat(lease_id: str) -> str:
    return lease_id.replace("/", "_")
