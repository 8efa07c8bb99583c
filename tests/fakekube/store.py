"""The fake API server's object store: resource versions, generations, conflicts, status subresource,
server-side apply field ownership, finalizers, garbage collection and a bounded watch history.

Thread-safe: every public method takes the store lock; watchers wait on `changed`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import secrets
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakekube import semantics as sem

Obj = dict[str, Any]
# spec-less kinds: no metadata.generation, every top-level field is data
_NO_SPEC = {"Secret", "ConfigMap", "Event", "ServiceAccount", "Namespace", "Lease"}


@dataclass(frozen=True)
class Resource:
    """One API resource the fake server serves."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    status_subresource: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class ApiStatusError(Exception):
    """Rendered by the HTTP layer as a `kind: Status` failure body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def body(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details, "code": self.code}


@dataclass
class WatchEvent:
    rv: int
    resource: Resource
    type: str
    obj: Obj


@dataclass
class _Entry:
    obj: Obj
    managers: dict[str, set[sem.Path]] = field(default_factory=dict)
    operations: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _not_found(res: Resource, name: str) -> ApiStatusError:
    return ApiStatusError(404, "NotFound", f'{res.plural}.{res.group} "{name}" not found'.replace(". ", " "),
                          {"name": name, "group": res.group, "kind": res.plural})


def _conflict(res: Resource, name: str) -> ApiStatusError:
    return ApiStatusError(409, "Conflict", f'Operation cannot be fulfilled on {res.plural} "{name}": the object '
                          "has been modified; please apply your changes to the latest version and try again",
                          {"name": name, "group": res.group, "kind": res.plural})


def _normalise(res: Resource, obj: Obj) -> None:
    """What the real API server does to a Secret: stringData is folded into data (base64)."""
    if res.kind == "Secret" and res.group == "" and "stringData" in obj:
        data = obj.setdefault("data", {}) or {}
        for key, value in (obj.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _spec_part(res: Resource, obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """All objects of the fake cluster, keyed by (resource plural+group, namespace, name)."""

    def __init__(self, history: int = 1000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1000  # a real cluster never starts at 0, and rv "0" means "any" to a watch
        self.objects: dict[tuple[Resource, str, str], _Entry] = {}
        self.history: deque[WatchEvent] = deque(maxlen=history)
        self.compacted_rv = self.rv

    # -- helpers --------------------------------------------------------------------------------------
    def _bump(self) -> str:
        self.rv += 1
        return str(self.rv)

    def _emit(self, res: Resource, typ: str, obj: Obj) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        self.history.append(WatchEvent(self.rv, res, typ, copy.deepcopy(obj)))
        self.changed.notify_all()

    def compact(self) -> None:
        """Forget the whole event history: any watch from an older resourceVersion gets 410 Gone."""
        with self.lock:
            self.history.clear()
            self.compacted_rv = self.rv

    def _render(self, res: Resource, entry: _Entry) -> Obj:
        obj = copy.deepcopy(entry.obj)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        obj["metadata"]["managedFields"] = [
            {"manager": m, "operation": entry.operations.get(m, "Update"), "apiVersion": res.api_version,
             "fieldsType": "FieldsV1", "fieldsV1": sem.fields_v1(paths)}
            for m, paths in sorted(entry.managers.items()) if paths
        ]
        return obj

    def _take_ownership(self, entry: _Entry, manager: str, paths: set[sem.Path], op: str) -> None:
        for other, owned in entry.managers.items():
            if other != manager:
                owned.difference_update(paths)
        entry.managers.setdefault(manager, set()).update(paths)
        entry.operations[manager] = op

    @staticmethod
    def _owned_paths(obj: Obj) -> set[sem.Path]:
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        meta = {k: v for k, v in body.get("metadata", {}).items()
                if k in ("labels", "annotations", "ownerReferences", "finalizers")}
        body["metadata"] = meta
        if not meta:
            del body["metadata"]
        return set(sem.leaf_paths(body))

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, res: Resource, ns: str, name: str) -> Obj:
        with self.lock:
            entry = self.objects.get((res, ns, name))
            if entry is None:
                raise _not_found(res, name)
            return self._render(res, entry)

    def list(self, res: Resource, ns: str | None, labels: str | None, fields: str | None) -> tuple[list[Obj], str]:
        with self.lock:
            items = [self._render(res, e) for (r, n, _), e in sorted(self.objects.items(), key=lambda kv: kv[0][1:])
                     if r == res and (ns is None or n == ns)
                     and sem.label_matches(labels, e.obj["metadata"].get("labels"))
                     and sem.field_matches(fields, e.obj)]
            return items, str(self.rv)

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, res: Resource, ns: str, body: Obj, manager: str, op: str = "Update") -> Obj:
        with self.lock:
            obj = copy.deepcopy(body)
            obj.pop("apiVersion", None), obj.pop("kind", None)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise ApiStatusError(422, "Invalid", "metadata.name: Required value: name or generateName "
                                         "is required", {"kind": res.kind})
                meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
            name = meta["name"]
            if res.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise ApiStatusError(400, "BadRequest", "the namespace of the provided object does not match "
                                         "the namespace sent on the request")
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            if (res, ns, name) in self.objects:
                raise ApiStatusError(409, "AlreadyExists", f'{res.plural} "{name}" already exists',
                                     {"name": name, "group": res.group, "kind": res.plural})
            for k in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "managedFields"):
                meta.pop(k, None)
            if res.status_subresource:
                obj.pop("status", None)
            _normalise(res, obj)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion=self._bump())
            if res.kind not in _NO_SPEC:
                meta["generation"] = 1
            entry = _Entry(obj)
            self._take_ownership(entry, manager, self._owned_paths(obj), op)
            self.objects[(res, ns, name)] = entry
            self._emit(res, "ADDED", self._render(res, entry))
            return self._render(res, entry)

    def _check_rv(self, res: Resource, name: str, entry: _Entry, body: Obj) -> None:
        want = body.get("metadata", {}).get("resourceVersion")
        if want and want != entry.obj["metadata"]["resourceVersion"]:
            raise _conflict(res, name)

    def _commit(self, res: Resource, ns: str, name: str, entry: _Entry, new: Obj) -> Obj:
        """Store `new` as the object's next state (or no-op when nothing changed)."""
        old = entry.obj
        meta, old_meta = new["metadata"], old["metadata"]
        for k in ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp"):
            if k in old_meta:
                meta[k] = old_meta[k]
            else:
                meta.pop(k, None)
        meta.pop("managedFields", None)
        meta["name"] = name
        meta.pop("generateName", None)
        if res.namespaced:
            meta["namespace"] = ns
        if old_meta.get("deletionTimestamp") and set(meta.get("finalizers") or []) - set(old_meta.get("finalizers")
                                                                                         or []):
            raise ApiStatusError(422, "Forbidden", "no new finalizers can be added if the object is being deleted")
        new.pop("apiVersion", None), new.pop("kind", None)
        _normalise(res, new)
        if new == old:
            return self._render(res, entry)
        if res.kind not in _NO_SPEC and _spec_part(res, new) != _spec_part(res, old):
            meta["generation"] = old_meta.get("generation", 0) + 1
        meta["resourceVersion"] = self._bump()
        entry.obj = new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(res, ns, name)
        self._emit(res, "MODIFIED", self._render(res, entry))
        return self._render(res, entry)

    def _entry(self, res: Resource, ns: str, name: str) -> _Entry:
        entry = self.objects.get((res, ns, name))
        if entry is None:
            raise _not_found(res, name)
        return entry

    def update(self, res: Resource, ns: str, name: str, body: Obj, manager: str, subresource: str = "") -> Obj:
        with self.lock:
            entry = self._entry(res, ns, name)
            self._check_rv(res, name, entry, body)
            new = copy.deepcopy(body)
            new.setdefault("metadata", {})
            if subresource == "status":
                new = {**copy.deepcopy(entry.obj), "status": new.get("status")}
                if new["status"] is None:
                    new.pop("status")
            elif res.status_subresource:
                new.pop("status", None)
                if "status" in entry.obj:
                    new["status"] = copy.deepcopy(entry.obj["status"])
            self._take_ownership(entry, manager, self._owned_paths(body), "Update")
            return self._commit(res, ns, name, entry, new)

    def merge_patch(self, res: Resource, ns: str, name: str, patch: Obj, manager: str, subresource: str = "") -> Obj:
        with self.lock:
            entry = self._entry(res, ns, name)
            self._check_rv(res, name, entry, patch)
            if subresource == "status":
                patch = {"status": patch.get("status")} if "status" in patch else {}
            elif res.status_subresource:
                patch = {k: v for k, v in patch.items() if k != "status"}
            new = sem.merge_patch(entry.obj, patch)
            new.setdefault("metadata", {})
            self._take_ownership(entry, manager, {p for p in self._owned_paths(patch)
                                                  if sem.get_path(patch, p) is not None}, "Update")
            return self._commit(res, ns, name, entry, new)

    def apply(self, res: Resource, ns: str, name: str, body: Obj, manager: str, force: bool,
              subresource: str = "") -> Obj:
        """Server-side apply: merge the applied configuration, own its fields, drop fields no longer applied,
        409 when another manager owns a field with a different value (unless force)."""
        with self.lock:
            body = copy.deepcopy(body)
            body.setdefault("metadata", {})["name"] = name
            if subresource == "status":
                body = {"metadata": body["metadata"], "status": body.get("status", {})}
            elif res.status_subresource:
                body.pop("status", None)
            entry = self.objects.get((res, ns, name))
            if entry is None:
                if subresource:
                    raise _not_found(res, name)
                return self.create(res, ns, body, manager, op="Apply")
            paths = self._owned_paths(body)
            if subresource == "status":
                paths = {p for p in paths if p[0] == "status"}
            conflicts = [(m, p) for m, owned in entry.managers.items() if m != manager for p in paths & owned
                         if sem.get_path(entry.obj, p) != sem.get_path(body, p)]
            if conflicts and not force:
                msg = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in sorted(conflicts))
                raise ApiStatusError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): {msg}",
                                     {"name": name, "group": res.group, "kind": res.plural,
                                      "causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                                                  "field": "." + ".".join(p)} for m, p in conflicts]})
            new = copy.deepcopy(entry.obj)
            prev = entry.managers.get(manager, set())
            still_owned = set().union(*(o for m, o in entry.managers.items() if m != manager)) if entry.managers \
                else set()
            for path in prev - paths - still_owned:
                if subresource == "status" and path[0] != "status":
                    continue
                sem.delete_path(new, path)
            for path in paths:
                cur: Any = new
                for key in path[:-1]:
                    if not isinstance(cur.get(key), dict):
                        cur[key] = {}
                    cur = cur[key]
                cur[path[-1]] = copy.deepcopy(sem.get_path(body, path))
            if subresource == "status":
                entry.managers[manager] = {p for p in prev if p[0] != "status"}
            else:
                entry.managers[manager] = {p for p in prev if p[0] == "status"}
            self._take_ownership(entry, manager, paths, "Apply")
            return self._commit(res, ns, name, entry, new)

    def delete(self, res: Resource, ns: str, name: str, propagation: str = "Background") -> Obj:
        with self.lock:
            entry = self._entry(res, ns, name)
            if entry.obj["metadata"].get("finalizers"):
                if not entry.obj["metadata"].get("deletionTimestamp"):
                    entry.obj["metadata"]["deletionTimestamp"] = _now()
                    entry.obj["metadata"]["resourceVersion"] = self._bump()
                    self._emit(res, "MODIFIED", self._render(res, entry))
                return self._render(res, entry)
            if propagation == "Orphan":
                self._orphan(entry.obj["metadata"]["uid"])
            return self._remove(res, ns, name)

    def _remove(self, res: Resource, ns: str, name: str) -> Obj:
        entry = self.objects.pop((res, ns, name))
        self._bump()
        gone = self._render(res, entry)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._emit(res, "DELETED", gone)
        self._collect(entry.obj["metadata"]["uid"])
        if res.kind == "Namespace":
            for key in [k for k in self.objects if k[0].namespaced and k[1] == name]:
                if key in self.objects:
                    self.delete(key[0], key[1], key[2])
        return gone

    def _orphan(self, uid: str) -> None:
        for (res, ns, name), entry in list(self.objects.items()):
            refs = entry.obj["metadata"].get("ownerReferences") or []
            kept = [r for r in refs if r.get("uid") != uid]
            if len(kept) != len(refs):
                new = copy.deepcopy(entry.obj)
                new["metadata"]["ownerReferences"] = kept
                self._commit(res, ns, name, entry, new)

    def _collect(self, uid: str) -> None:
        """Background garbage collection: dependents whose every owner is gone are deleted."""
        live = {e.obj["metadata"]["uid"] for e in self.objects.values()}
        for (res, ns, name), entry in list(self.objects.items()):
            refs = entry.obj["metadata"].get("ownerReferences") or []
            if (any(r.get("uid") == uid for r in refs) and not any(r.get("uid") in live for r in refs)
                    and (res, ns, name) in self.objects):
                self.delete(res, ns, name)

    # -- watch ----------------------------------------------------------------------------------------
    def events_since(self, rv: int, res: Resource, ns: str | None) -> list[WatchEvent]:
        """Events after `rv` (caller holds the lock); raises 410 when the history no longer reaches back."""
        if rv < self.compacted_rv:
            raise ApiStatusError(410, "Expired", f"too old resource version: {rv} ({self.compacted_rv})")
        newer: list[WatchEvent] = []
        for e in reversed(self.history):  # history is in rv order: walk back only as far as needed
            if e.rv <= rv:
                break
            if e.resource == res and (ns is None or e.obj["metadata"].get("namespace") == ns):
                newer.append(e)
        newer.reverse()
        return newer
