"""ExternalSecret -> Secret reconciler (ESO-compatible), on the Strongroom operator runtime.

Per key: read the ExternalSecret from the cache -> decide whether to refresh (spec/labels/annotations changed,
never synced, interval elapsed, a provider change event, or the target Secret drifted) -> fetch (providers,
deduplicated) -> `desired.render` + `desired.desired_secret` (pure) -> at most one server-side apply -> status,
Events and metrics in `_finish`. Steady state costs no Kubernetes writes: refreshTime only moves when the
Secret changed. Provider outages keep the last good Secret and say why in the Ready condition.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from strongroom.operator.externalsecret import desired as d
from strongroom.operator.externalsecret import metrics as m
from strongroom.operator.externalsecret.fetch import Fetched, fetch
from strongroom.operator.externalsecret.providers import ProviderClient, ProviderError, StoreConfigError
from strongroom.operator.externalsecret.stores import StoreManager, store_ref
from strongroom.operator.kube import Conflict, Kube, KubeError, NotFound, Obj, kinds
from strongroom.operator.runtime import (
    NORMAL,
    WARNING,
    Controller,
    EventRecorder,
    Informer,
    PermanentError,
    Result,
    StatusWriter,
    Watch,
    object_key,
)
from strongroom.operator.runtime.events import now_rfc3339

log = logging.getLogger(__name__)
FIELD_MANAGER_PREFIX = "externalsecrets.external-secrets.io/"
DEFAULT_REFRESH = 3600.0


def parse_go_duration(text: Any) -> float:
    """Go durations (`1h0m0s`, `15s`, `500ms`, `0`); ints are seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text or "").strip()
    if s in ("", "0"):
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, num, i = 0.0, "", 0
    while i < len(s):
        c = s[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "h", "m", "s") if s.startswith(u, i)), None)
        if unit is None or not num:
            raise StoreConfigError(f"refreshInterval {s!r} is not a Go duration like 1h0m0s")
        total += float(num) * units[unit]
        num, i = "", i + len(unit)
    if num:
        raise StoreConfigError(f"refreshInterval {s!r} is missing a unit")
    return total


def next_refresh(last: float, interval: float) -> float:
    """The first interval tick (wall clock, multiples of `interval`) after `last`: ExternalSecrets with the same
    interval refresh together, so their reads of shared keys coincide and are deduplicated by the provider."""
    return (math.floor(last / interval) + 1) * interval


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def field_manager(es_name: str) -> str:
    name = es_name if len(es_name) <= 63 else d.created_by("", es_name)
    return FIELD_MANAGER_PREFIX + name


@dataclass
class _State:
    refreshed_at: float  # wall clock of the last successful provider fetch
    srv: str  # syncedResourceVersion it was for


class ExternalSecretReconciler:
    def __init__(self, kube: Kube, externalsecrets: Informer, secrets: Informer, stores: StoreManager, *,
                 component: str = "external-secrets") -> None:
        self.kube, self.es, self.secrets, self.stores = kube, externalsecrets, secrets, stores
        self.events = EventRecorder(kube, component)
        self.status = StatusWriter(kube, kinds.EXTERNAL_SECRET)
        self._state: dict[str, _State] = {}
        self._failures: dict[str, int] = defaultdict(int)
        self._forced: set[str] = set()
        self.targets: dict[str, set[str]] = defaultdict(set)  # "ns/secret" -> ES keys
        self._target_of: dict[str, str] = {}
        self.uses: dict[tuple[tuple[str, str, str], str], set[str]] = defaultdict(set)  # (store, key) -> ES keys
        self._uses_of: dict[str, set[tuple[tuple[str, str, str], str]]] = {}
        self.controller: Controller | None = None
        self.provider_fetches = 0

    # -- indexes --------------------------------------------------------------------------------------
    def _index_target(self, key: str, target: str | None) -> None:
        old = self._target_of.pop(key, None)
        if old is not None:
            self.targets[old].discard(key)
            if not self.targets[old]:
                del self.targets[old]
        if target is not None:
            self._target_of[key] = target
            self.targets[target].add(key)

    def _index_uses(self, key: str, touched: set[tuple[tuple[str, str, str], str]] | None) -> None:
        for u in self._uses_of.pop(key, set()):
            self.uses[u].discard(key)
            if not self.uses[u]:
                del self.uses[u]
        if touched:
            self._uses_of[key] = set(touched)
            for u in touched:
                self.uses[u].add(key)

    def on_provider_change(self, sid: tuple[str, str, str], path: str) -> None:
        """A provider pushed a change of `path`: refresh exactly the ExternalSecrets that read it."""
        if path == "*":  # the provider lost track (e.g. its event buffer overflowed): refresh all its users
            keys = {k for (s, _), ks in self.uses.items() if s == sid for k in ks}
        else:
            keys = self.uses.get((sid, path), set()) | self.uses.get((sid, "*"), set())
        for key in keys:
            m.CHANGE_EVENTS.inc()
            self._forced.add(key)
            if self.controller is not None:
                self.controller.enqueue(key)

    # -- decision -------------------------------------------------------------------------------------
    def _refresh_due(self, key: str, es: Obj, srv: str, valid: bool) -> tuple[bool, float | None]:
        """(refresh now?, requeue after seconds). ESO's shouldRefresh + isSecretValid."""
        spec = es.get("spec") or {}
        interval = parse_go_duration(spec.get("refreshInterval", "1h"))
        policy = str(spec.get("refreshPolicy") or "Periodic")
        state = self._state.get(key)
        status = es.get("status") or {}
        last = state.refreshed_at if state else _parse_time(status.get("refreshTime"))
        synced_srv = state.srv if state else status.get("syncedResourceVersion")
        if key in self._forced or last is None or synced_srv != srv or not valid:
            return True, None
        if policy == "CreatedOnce" or policy == "OnChange" or interval <= 0:
            return False, None
        remaining = next_refresh(last, interval) - time.time()
        return (remaining <= 0), (remaining if remaining > 0 else None)

    # -- reconcile ------------------------------------------------------------------------------------
    async def reconcile(self, key: str) -> Result | None:
        es = self.es.get(key)
        if es is None or es["metadata"].get("deletionTimestamp"):
            self._forget(key)
            return None
        ns = es["metadata"].get("namespace", "")
        tkey = f"{ns}/{d.target_name(es)}"
        self._index_target(key, tkey)
        existing = self.secrets.get(tkey)
        creation = d.policy(es, "creationPolicy", "Owner")
        srv = d.synced_resource_version(es)
        # nothing to repair with creationPolicy None, or Merge without a Secret (that reports SecretMissing)
        valid = creation == "None" or (creation == "Merge" and existing is None) or d.is_valid(existing)
        due, after = self._refresh_due(key, es, srv, valid)
        log.debug("%s: refresh due=%s valid=%s secret=%s", key, due, valid, existing is not None)
        if not due:
            return Result(after) if after else None
        state = self._state.get(key)
        drift = state is not None and state.srv == srv and key not in self._forced and not valid
        self._forced.discard(key)
        m.SYNC_CALLS.labels(es["metadata"]["name"], ns).inc()
        started = time.perf_counter()
        try:
            return await self._sync(key, es, existing, srv, drift)
        except PermanentError:
            m.SYNC_ERRORS.labels(es["metadata"]["name"], ns).inc()
            raise
        finally:
            m.RECONCILE_DURATION.labels(es["metadata"]["name"], ns).observe(time.perf_counter() - started)

    async def _resolve(self, es: Obj, entry: dict[str, Any] | None) -> tuple[ProviderClient, tuple[str, str, str]]:
        kind, name = store_ref(es.get("spec") or {}, entry)
        return await self.stores.client(kind, name, es["metadata"].get("namespace", ""))

    async def _sync(self, key: str, es: Obj, existing: Obj | None, srv: str, drift: bool) -> Result | None:
        spec = es.get("spec") or {}
        creation = d.policy(es, "creationPolicy", "Owner")
        deletion = d.policy(es, "deletionPolicy", "Retain")
        try:
            fetched = await fetch(es, lambda entry: self._resolve(es, entry))
            self.provider_fetches += fetched.refs
            self._index_uses(key, fetched.touched)
        except (StoreConfigError, d.SyncError) as exc:
            await self._finish(es, False, "SecretSyncedError", f"could not get secret data from provider: {exc}",
                               event=("UpdateFailed", str(exc)))
            raise PermanentError(str(exc)) from None
        except ProviderError as exc:
            return await self._outage(key, es, existing, exc)
        if fetched.missing:
            result = await self._missing(key, es, existing, srv, fetched, deletion)
            if result is not False:
                return result  # type: ignore[return-value]
        sources = await self._template_sources(es)
        try:
            rendered = d.render(es, fetched.data, sources)
        except d.SyncError as exc:
            await self._finish(es, False, "SecretSyncedError", str(exc), event=("UpdateFailed", str(exc)))
            raise PermanentError(str(exc)) from None
        written = await self._write(es, existing, rendered, creation, drift)
        if written == "missing":
            await self._finish(es, False, "SecretMissing", "secret will not be created due to CreationPolicy=Merge")
            return Result(self._interval(spec)) if self._interval(spec) else None
        self._failures.pop(key, None)
        self._state[key] = _State(time.time(), srv)
        await self._finish(es, True, "SecretSynced", "secret synced", refreshed=written in ("created", "updated"))
        interval = self._interval(spec)
        if not interval or str(spec.get("refreshPolicy") or "Periodic") != "Periodic":
            return None
        now = time.time()
        return Result(max(0.0, next_refresh(now, interval) - now))

    @staticmethod
    def _interval(spec: dict[str, Any]) -> float:
        return parse_go_duration(spec.get("refreshInterval", "1h"))

    async def _outage(self, key: str, es: Obj, existing: Obj | None, exc: Exception) -> Result:
        """Provider down: keep the last good Secret, say why, retry with capped backoff."""
        self._failures[key] += 1
        self._forced.add(key)  # the retry must fetch again even if the refresh interval has not elapsed
        m.SYNC_ERRORS.labels(es["metadata"]["name"], es["metadata"].get("namespace", "")).inc()
        kept = " (last synced Secret kept)" if existing is not None else ""
        await self._finish(es, False, "SecretSyncedError",
                           f"could not get secret data from provider: {exc}{kept}", event=("UpdateFailed", str(exc)))
        return Result(min(60.0, 0.5 * 2 ** min(self._failures[key], 8)))

    async def _missing(self, key: str, es: Obj, existing: Obj | None, srv: str, fetched: Fetched,
                       deletion: str) -> Result | bool | None:
        """Provider data is gone: deletionPolicy decides (ESO#695: deletion must propagate)."""
        spec = es.get("spec") or {}
        if deletion == "Retain":
            msg = "could not get secret data from provider: " + "; ".join(fetched.missing)
            await self._finish(es, False, "SecretSyncedError", msg + " (secret retained due to DeletionPolicy=Retain)",
                               event=("UpdateFailed", msg))
            return Result(max(self._interval(spec), 5.0)) if self._interval(spec) else None
        if deletion == "Merge" or fetched.data:
            return False  # write what is left (Merge removes the missing keys; Delete keeps partial data)
        if existing is not None and d.conflict(es, existing) == "" and \
                (existing["metadata"].get("labels") or {}).get(d.LABEL_MANAGED) == "true":
            try:
                await self.kube.delete(kinds.SECRET, existing["metadata"]["name"], existing["metadata"]["namespace"])
                m.SECRET_WRITES.labels("delete").inc()
                self.events.emit(es, NORMAL, "Deleted", "secret deleted due to DeletionPolicy=Delete")
            except NotFound:
                pass
        self._state[key] = _State(time.time(), srv)
        await self._finish(es, False, "SecretDeleted", "secret deleted due to DeletionPolicy=Delete")
        return Result(self._interval(spec)) if self._interval(spec) else None

    async def _template_sources(self, es: Obj) -> dict[tuple[str, str], dict[str, str]]:
        tpl = ((es.get("spec") or {}).get("target") or {}).get("template") or {}
        out: dict[tuple[str, str], dict[str, str]] = {}
        ns = es["metadata"].get("namespace", "")
        for tf in tpl.get("templateFrom") or []:
            for kind, rk in (("configMap", kinds.CONFIGMAP), ("secret", kinds.SECRET)):
                name = (tf.get(kind) or {}).get("name")
                if not name or (kind, name) in out:
                    continue
                try:
                    obj = await self.kube.get(rk, name, ns)
                except NotFound:
                    continue
                raw = obj.get("data") or {}
                out[(kind, name)] = ({k: base64.b64decode(v).decode("utf-8", "surrogateescape")
                                      for k, v in raw.items()} if kind == "secret" else dict(raw))
        return out

    async def _write(self, es: Obj, existing: Obj | None, rendered: d.Rendered, creation: str, drift: bool) -> str:
        """Apply the desired Secret. Returns created | updated | unchanged | missing | none."""
        if creation == "None":
            return "none"
        if creation == "Merge" and existing is None:
            return "missing"
        why = d.conflict(es, existing)
        if why:
            await self._finish(es, False, "SecretSyncedError", why, event=("UpdateFailed", why))
            raise PermanentError(why)
        body = d.desired_secret(es, rendered, existing)
        if d.in_sync(existing, body):
            return "unchanged"
        if existing is not None and existing.get("immutable"):
            msg = "could not update secret, target is immutable"
            await self._finish(es, False, "SecretSyncedError", msg, event=("UpdateFailed", msg))
            raise PermanentError(msg)
        try:
            written = await self.kube.apply(kinds.SECRET, body, field_manager=field_manager(es["metadata"]["name"]))
        except Conflict:
            raise KubeError("target Secret changed meanwhile; retrying") from None
        action = "created" if existing is None else "updated"
        m.SECRET_WRITES.labels(action).inc()
        if drift:
            m.DRIFT_REPAIRS.labels(es["metadata"].get("namespace", "")).inc()
        based_on = (existing or {}).get("metadata", {}).get("resourceVersion")
        current = self.secrets.get(object_key(written))
        if (current or {}).get("metadata", {}).get("resourceVersion") == based_on:
            # only when the watch has not moved meanwhile: a DELETED that overtook our response must not be
            # undone by caching what we wrote
            self.secrets.remember(written, based_on=based_on)
        self.events.emit(es, NORMAL, "Created" if existing is None else "Updated",
                         "secret created" if existing is None else "secret updated")
        return action

    async def _finish(self, es: Obj, ok: bool, reason: str, message: str, *, refreshed: bool = False,
                      event: tuple[str, str] | None = None) -> None:
        """The one place that writes status, Warning events and the condition metric."""
        meta, status = es["metadata"], es.get("status") or {}
        name, ns = meta["name"], meta.get("namespace", "")
        for value in ("True", "False"):
            m.STATUS_CONDITION.labels(name, ns, "Ready", value).set(1 if (value == "True") == ok else 0)
        extra: dict[str, Any] = {"binding": {"name": d.target_name(es)}}
        if ok:
            extra["syncedResourceVersion"] = d.synced_resource_version(es)
            extra["refreshTime"] = now_rfc3339() if refreshed or not status.get("refreshTime") \
                else status["refreshTime"]
        old_cond: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        changed = old_cond.get("reason") != reason or old_cond.get("message") != message
        if event is not None and changed:
            self.events.emit(es, WARNING, event[0], event[1])
        updated = await self.status.write(es, "Ready", ok, reason=reason, message=message, extra=extra)
        if updated is not None:
            self.es.remember(updated, based_on=meta.get("resourceVersion"))

    def _forget(self, key: str) -> None:
        self._state.pop(key, None)
        self._failures.pop(key, None)
        self._forced.discard(key)
        self._index_target(key, None)
        self._index_uses(key, None)


def build_controller(reconciler: ExternalSecretReconciler, *, workers: int = 4) -> Controller:
    def secret_to_es(secret: Obj) -> list[str]:
        return sorted(reconciler.targets.get(object_key(secret), set()))

    def store_to_es(store: Obj) -> list[str]:
        name, ns = store["metadata"]["name"], store["metadata"].get("namespace")
        out = []
        for es in reconciler.es.items():
            ref = (es.get("spec") or {}).get("secretStoreRef") or {}
            kind = ref.get("kind") or "SecretStore"
            if ref.get("name") == name and ((ns and kind == "SecretStore" and es["metadata"].get("namespace") == ns)
                                            or (not ns and kind == "ClusterSecretStore")):
                out.append(object_key(es))
        return out

    controller = Controller("externalsecret", reconciler, reconciler.es,
                            [Watch(reconciler.secrets, secret_to_es),
                             Watch(reconciler.stores.stores, store_to_es),
                             Watch(reconciler.stores.cluster_stores, store_to_es)], workers=workers)
    reconciler.controller = controller
    return controller
