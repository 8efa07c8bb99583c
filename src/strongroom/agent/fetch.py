"""Reads secrets for templates, keeps leased secrets (renewing them) instead of re-reading them, and falls back
to the last good value when the store is unreachable.

Leased (dynamic) secrets are read once and renewed; re-reading them on every poll would mint a new credential
and a new lease each time (the lease explosion of ESO#376 and vault-csi-provider#150). Static secrets (KV)
are re-read each render pass so changes show up.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from strongroom.agent.files import DiskCache
from strongroom.client import Client, ClientError, Forbidden, ServerUnavailable

log = logging.getLogger("strongroom.agent")


class SecretMissing(Exception):
    """A template asked for a path that holds nothing (message: the path only)."""


@dataclass
class Entry:
    response: dict[str, Any]  # as templates see it: Data, LeaseID, LeaseDuration, Renewable
    lease_id: str
    duration: float
    renewable: bool
    since: float  # monotonic time of the read or the last renewal

    def renew_due(self, now: float) -> bool:
        return bool(self.lease_id) and self.duration > 0 and now >= self.since + self.duration * 2 / 3


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    """consul-template's secret object: `.Data` (for KV v2: `.Data.data.<key>`, `.Data.metadata`)."""
    return {"Data": body.get("data") or {}, "LeaseID": body.get("lease_id") or "",
            "LeaseDuration": int(body.get("lease_duration") or 0), "Renewable": bool(body.get("renewable")),
            "Warnings": body.get("warnings") or []}


class Fetcher:
    def __init__(self, client: Client, cache: DiskCache | None = None) -> None:
        self.client = client
        self.cache = cache
        self.entries: dict[str, Entry] = {}
        self.fallback: dict[str, dict[str, Any]] = cache.load() if cache else {}
        self._fresh: set[str] = set()
        self.error: BaseException | None = None  # what the last failing `secret` call raised (the template
        # engine turns function errors into TemplateErrors; the agent needs the cause)
        self.degraded: set[str] = set()  # paths served from the last good value in this pass
        self.renewals = 0

    def begin_pass(self) -> None:
        self._fresh, self.degraded, self.error = set(), set(), None

    def end_pass(self) -> None:
        if self.cache is not None and self._fresh - self.degraded:
            self.fallback.update({p: self.entries[p].response for p in self._fresh if p in self.entries})
            try:
                self.cache.save(self.fallback)
            except OSError as exc:
                log.warning("cannot write the agent cache: %s", exc.strerror)

    def secret(self, path: str) -> dict[str, Any]:
        """The template function `secret "path"`."""
        try:
            return self._secret(str(path).strip("/"))
        except (ClientError, SecretMissing) as exc:
            self.error = exc
            raise

    def watches(self, event_path: str) -> bool:
        """Does a change notification for `mount/key` concern a static secret we rendered? KV v2 reads go to
        `mount/data/key`."""
        event_path = event_path.strip("/")
        for p, e in self.entries.items():
            if e.lease_id:
                continue
            mount, _, rest = p.partition("/")
            if event_path == p or (rest.startswith("data/") and event_path == f"{mount}/{rest[5:]}"):
                return True
        return False

    def _secret(self, path: str) -> dict[str, Any]:
        now = time.monotonic()
        entry = self.entries.get(path)
        if path in self._fresh and entry is not None:
            return entry.response
        if entry is not None and entry.lease_id and now < entry.since + entry.duration * 0.9:
            self._fresh.add(path)
            return entry.response  # a live lease: keep the credential, it is being renewed
        try:
            body = self.client.read(path)
        except ServerUnavailable:
            last = entry.response if entry is not None else self.fallback.get(path)
            if last is None:
                raise
            self.degraded.add(path)
            self._fresh.add(path)
            return last
        if body is None:
            raise SecretMissing(f"no secret at {path}")
        shaped = _shape(body)
        self.entries[path] = Entry(shaped, shaped["LeaseID"], float(shaped["LeaseDuration"]), shaped["Renewable"],
                                   now)
        self._fresh.add(path)
        return shaped

    def renew_leases(self) -> None:
        """Renews leases at two thirds of their duration; a lease that can't be renewed is dropped so the next
        render pass reads a new credential (and re-renders)."""
        now = time.monotonic()
        for path, e in list(self.entries.items()):
            if not e.renew_due(now):
                continue
            if not e.renewable:
                del self.entries[path]
                continue
            try:
                body = self.client.write("sys/leases/renew", {"lease_id": e.lease_id,
                                                              "increment": int(e.duration)}) or {}
            except ServerUnavailable:
                continue  # retry on the next tick; the credential is still valid
            except ClientError as exc:
                log.warning("lease for %s could not be renewed (HTTP %s); reading a new one", path, exc.status)
                del self.entries[path]
                continue
            e.duration, e.since = float(body.get("lease_duration") or e.duration), now
            self.renewals += 1
            if e.duration <= 0:
                del self.entries[path]

    def leases_due_for_refresh(self) -> bool:
        now = time.monotonic()
        return any(e.lease_id and now >= e.since + e.duration * 0.9 for e in self.entries.values())

    def revoke_all(self) -> int:
        n = 0
        for e in list(self.entries.values()):
            if not e.lease_id:
                continue
            try:
                self.client.write("sys/leases/revoke", {"lease_id": e.lease_id})
                n += 1
            except Forbidden:
                # the policy lacks sys/leases/revoke: revoking the token (next) revokes its leases anyway
                log.info("not allowed to revoke leases one by one; the token's revocation covers them")
                break
            except ClientError as exc:
                log.warning("could not revoke a lease (HTTP %s)", exc.status)
        self.entries = {p: e for p, e in self.entries.items() if not e.lease_id}
        return n
