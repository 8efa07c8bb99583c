"""Leases: every secret with a TTL is persisted here; the manager renews and revokes through the engine's
SecretType (routed back through the router), on time, after restarts too.

Storage (barrier view `sys/expire/`): `id/<lease_id>` holds the lease, `token/<token hash>/<flat lease id>` indexes
a token's leases so revoking the token revokes them. In a scale-out cluster every replica registers, renews and
revokes on request; only the leader (core.ha) runs the expiry loop. It learns about leases registered elsewhere
from the change feed (`note_changed`) and rescans storage when it becomes leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
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

MAX_REVOKE_ATTEMPTS = 6  # after this many failures a lease counts as irrevocable (it is still retried)
MAX_BACKOFF = 300.0


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

    @property
    def irrevocable(self) -> bool:
        return self.revoke_attempts >= MAX_REVOKE_ATTEMPTS

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Lease:
        d = orjson.loads(raw)
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _key(lease_id: str) -> str:
    return "id/" + lease_id


def _flat(lease_id: str) -> str:
    return lease_id.replace("/", "_")


def backoff(attempts: int) -> float:
    """Seconds before the next revocation attempt: 2, 4, 8 ... capped at five minutes."""
    return min(MAX_BACKOFF, 2.0 ** min(max(attempts, 1), 16))


class ExpirationManager:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.view = View(core.barrier, "sys/expire/")
        self._heap: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Lock] = {}
        self.run_expiry = True  # false on non-leader replicas (core.ha flips it)
        self._stopping = False

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def setup(self) -> None:
        """Restores every stored lease into the expiry queue (after unseal or a restart) and starts the loop."""
        await self.rescan()
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def rescan(self) -> int:
        heap: list[tuple[float, str]] = []
        for lease_id in await self._all_ids():
            lease = await self.lookup(lease_id)
            if lease is not None:
                heap.append((lease.expire_time, lease.lease_id))
        heapq.heapify(heap)
        self._heap = heap
        self._wake.set()
        return len(heap)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._heap = []

    def set_leader(self, leader: bool) -> None:
        """Called by core.ha: only the leader revokes expired leases."""
        self.run_expiry = leader
        self._wake.set()

    async def note_changed(self, lease_id: str) -> None:
        """A lease was written by another replica (change feed): queue it on the leader."""
        if not self.run_expiry:
            return
        lease = await self.lookup(lease_id)
        if lease is not None:
            heapq.heappush(self._heap, (lease.expire_time, lease_id))
            self._wake.set()

    async def _all_ids(self, prefix: str = "") -> list[str]:
        from strongroom.sdk.storage import list_recursive

        return [k[len("id/"):] for k in await list_recursive(self.view, "id/" + prefix)]

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the loop alive; the failing lease is retried with backoff
                log.exception("lease expiry pass failed")
            self._wake.clear()
            delay = 1.0
            if self._heap and self.run_expiry:
                delay = max(0.05, min(1.0, self._heap[0][0] - clock.now()))
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races the wake-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _tick(self) -> None:
        if not self.run_expiry or self.core.sealed:
            return
        now = clock.now()
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            _, lease_id = heapq.heappop(self._heap)
            if lease_id not in due:
                due.append(lease_id)
        for lease_id in due:
            await self._expire(lease_id, now)

    async def _expire(self, lease_id: str, now: float) -> None:
        lock = self._inflight.setdefault(lease_id, asyncio.Lock())
        async with lock:
            try:
                lease = await self.lookup(lease_id)
                if lease is None:
                    return
                if lease.expire_time > now:  # renewed since it was queued
                    heapq.heappush(self._heap, (lease.expire_time, lease_id))
                    return
                try:
                    await self._revoke(lease)
                except Exception as exc:  # any backend failure means: retry later
                    await self._retry_later(lease, now, exc)
            finally:
                self._inflight.pop(lease_id, None)

    async def _retry_later(self, lease: Lease, now: float, exc: BaseException) -> None:
        if await self.view.get(_key(lease.lease_id)) is None:
            return  # revoked meanwhile (another replica, a forced revoke)
        lease.revoke_attempts += 1
        wait = backoff(lease.revoke_attempts)
        lease.expire_time = now + wait
        lease.extra["last_error"] = getattr(exc, "message", "") or type(exc).__name__
        await self.view.put(_key(lease.lease_id), lease.to_json())
        heapq.heappush(self._heap, (lease.expire_time, lease.lease_id))
        log.warning("revoking lease %s failed (attempt %d%s); retrying in %.0fs", lease.lease_id,
                    lease.revoke_attempts, ", now irrevocable" if lease.irrevocable else "", wait)

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
                      mount_point=route.prefix, mount_type=route.entry.type, mount_accessor=route.entry.accessor,
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

    async def revoke(self, lease_id: str, *, force: bool = False, sync: bool = True) -> None:
        """Revokes now (sync) or queues the lease for the expiry loop (sync=False, Vault's default for the API)."""
        if not sync:
            await self._queue_now(lease_id)
            return
        lock = self._inflight.setdefault(lease_id, asyncio.Lock())
        async with lock:
            try:
                lease = await self.lookup(lease_id)
                if lease is None:
                    return  # Vault: revoking an unknown lease succeeds
                await self._revoke(lease, force=force)
            finally:
                self._inflight.pop(lease_id, None)

    async def _queue_now(self, lease_id: str) -> None:
        lease = await self.lookup(lease_id)
        if lease is None:
            return
        lease.expire_time = clock.now()
        await self.view.put(_key(lease_id), lease.to_json())
        heapq.heappush(self._heap, (lease.expire_time, lease_id))
        self._wake.set()

    async def revoke_prefix(self, prefix: str, *, force: bool = False, sync: bool = True) -> int:
        n = 0
        for lease_id in await self._all_ids(prefix):
            await self.revoke(lease_id, force=force, sync=sync or force)
            n += 1
        return n

    async def revoke_by_token(self, entry: TokenEntry) -> None:
        for child in await self.view.list(f"token/{entry.id_hash}/"):
            raw = await self.view.get(f"token/{entry.id_hash}/{child}")
            if raw is None:
                continue
            try:
                await self.revoke(raw.decode())
            except Exception:  # the lease stays stored; expiry retries it with backoff
                log.warning("revoking a lease of a revoked token failed; it is queued for retry")
                await self._queue_now(raw.decode())

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

    async def count(self, kind: str = "all") -> tuple[int, dict[str, int]]:
        """Leases (all or only irrevocable ones), in total and per mount."""
        total, per_mount = 0, dict[str, int]()
        for lease_id in await self._all_ids():
            lease = await self.lookup(lease_id)
            if lease is None or (kind == "irrevocable" and not lease.irrevocable):
                continue
            total += 1
            route = self.core.router.by_accessor(lease.mount_accessor)
            mount = route.prefix if route is not None else lease.mount_accessor
            per_mount[mount] = per_mount.get(mount, 0) + 1
        return total, per_mount

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


def remaining(lease: Lease) -> int:
    """Whole seconds left, rounded up (a just-renewed 600 s lease reports 600, as Vault does)."""
    return max(0, math.ceil(lease.expire_time - clock.now() - 1e-3))


__all__ = ["MAX_REVOKE_ATTEMPTS", "ExpirationManager", "Lease", "backoff", "remaining"]
