"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it.

* acquire: create the Lease, or take it over when its holder is empty (released) or has not renewed for
  `leaseDurationSeconds` as observed on OUR clock (no trust in other nodes' clocks);
* renew every `retry_period`; if no renew succeeded for `renew_deadline`, leadership is lost and the leading
  work is cancelled (another replica may already lead);
* release on graceful stop: holder cleared, so a standby takes over at once instead of after the lease expires.
All writes are optimistic (resourceVersion), so two candidates can never both win.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from strongroom.operator.kube import AlreadyExists, Conflict, Kube, KubeError, NotFound, Obj, kinds
from strongroom.operator.runtime import metrics

log = logging.getLogger(__name__)


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, kube: Kube, namespace: str, name: str, identity: str, *, lease_duration: float = 15.0,
                 renew_deadline: float = 10.0, retry_period: float = 2.0) -> None:
        if not renew_deadline < lease_duration:
            raise ValueError("renew_deadline must be shorter than lease_duration")
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.lease_duration, self.renew_deadline, self.retry_period = lease_duration, renew_deadline, retry_period
        self.is_leader = False
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0

    def _observe(self, spec: dict[str, Any]) -> None:
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when we hold the lease afterwards."""
        now = _micro_now()
        spec: dict[str, Any] = {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_duration),
                                "acquireTime": now, "renewTime": now, "leaseTransitions": 0}
        try:
            lease = await self.kube.get(kinds.LEASE, self.name, self.namespace)
        except NotFound:
            try:
                await self.kube.create(kinds.LEASE, {"metadata": {"name": self.name, "namespace": self.namespace},
                                                     "spec": spec})
            except AlreadyExists:
                return False
            self._observe(spec)
            return True
        old = lease.get("spec") or {}
        self._observe(old)
        holder = old.get("holderIdentity")
        duration = float(old.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and time.monotonic() < self._observed_at + duration:
            return False
        if holder == self.identity:
            spec["acquireTime"] = old.get("acquireTime", now)
            spec["leaseTransitions"] = old.get("leaseTransitions", 0)
        else:
            spec["leaseTransitions"] = int(old.get("leaseTransitions") or 0) + 1
        lease["spec"] = spec
        try:
            await self.kube.replace(kinds.LEASE, lease)
        except Conflict:
            return False
        self._observe(spec)
        return True

    async def release(self) -> None:
        if not self.is_leader:
            return
        self._set_leader(False)
        try:
            lease = await self.kube.get(kinds.LEASE, self.name, self.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"] = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1,
                             "renewTime": _micro_now()}
            await self.kube.replace(kinds.LEASE, lease)
        except KubeError as exc:
            log.warning("could not release lease %s/%s: %s", self.namespace, self.name, exc)

    def _set_leader(self, value: bool) -> None:
        if value != self.is_leader:
            log.info("%s %s leadership of %s/%s", self.identity, "acquired" if value else "lost",
                     self.namespace, self.name)
        self.is_leader = value
        metrics.IS_LEADER.labels(lease=f"{self.namespace}/{self.name}").set(1 if value else 0)

    async def _attempt(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except KubeError as exc:
            log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
            return False

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Campaign forever; while leader, run `lead()` (cancelled if leadership is lost). Returns when `lead`
        returns by itself; releases the lease when cancelled."""
        task: asyncio.Task[None] | None = None
        try:
            while True:
                while not await self._attempt():
                    await asyncio.sleep(self.retry_period)
                self._set_leader(True)
                task = asyncio.ensure_future(lead())
                last_renew = time.monotonic()
                while not task.done():
                    done, _ = await asyncio.wait({task}, timeout=self.retry_period)
                    if done:
                        break
                    if await self._attempt():
                        last_renew = time.monotonic()
                    elif time.monotonic() - last_renew > self.renew_deadline:
                        break
                if task.done():
                    task.result()
                    await self.release()
                    return
                self._set_leader(False)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        except asyncio.CancelledError:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.release()
            raise


def lease_holder(lease: Obj) -> str | None:
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return str(holder) if holder else None
