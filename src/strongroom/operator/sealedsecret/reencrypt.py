"""Re-seal the SealedSecrets stored in a cluster with the newest sealing key (`strongroom seal reencrypt
--in-cluster`).

Upstream never garbage-collects old keys and `kubeseal --re-encrypt` only rewrites files, so objects sealed
with a retired key keep it alive forever. Here every stored SealedSecret is read through the API, each item is
opened with the keys one at a time (newest first) so we learn which key sealed it, and objects with any item
not sealed by the newest key get those items re-sealed to it and are written back with their resourceVersion
(a concurrent change gives 409: re-read and decide again). Item by item, so the scope, `spec.template`
(including `template.data` templates) and everything else stay exactly as they were; plaintext lives only in
memory inside one call. Done in process with the private keys (read from the key Secrets, unwrapped when the
registry wraps them) rather than through the controller's `/v1/rotate`: that endpoint is rate-limited to 2/s
and turns rendered `template.data` entries into ordinary items.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from strongroom.operator.kube import Conflict, Kube, KubeError, NotFound, Obj, kinds
from strongroom.operator.sealedsecret.keys import SealingKey
from strongroom.sealing import SealingError, UnsealError, scope_of, seal_value, unseal_value

MAX_CONFLICT_RETRIES = 5


@dataclass
class ObjectResult:
    namespace: str
    name: str
    action: str  # up-to-date | reencrypted | would-reencrypt | failed | gone
    sealed_by: list[str] = field(default_factory=list)  # key Secret names that sealed its items (sorted)
    items: int = 0
    conflicts: int = 0
    error: str = ""


@dataclass
class Summary:
    newest_key: str
    dry_run: bool
    objects: list[ObjectResult]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.objects:
            out[r.action] = out.get(r.action, 0) + 1
        return out

    def by_key_before(self) -> dict[str, int]:
        """How many objects had at least one item sealed by each key, before this run."""
        out: dict[str, int] = {}
        for r in self.objects:
            for k in r.sealed_by:
                out[k] = out.get(k, 0) + 1
        return out

    def as_json(self) -> dict[str, Any]:
        return {"newest_key": self.newest_key, "dry_run": self.dry_run, "counts": self.counts(),
                "sealed_by_before": self.by_key_before(), "objects": [asdict(r) for r in self.objects]}


def _which_key(keys: list[SealingKey], scope: Any, ns: str, name: str, value: str) -> tuple[SealingKey, bytes]:
    for key in keys:
        try:
            return key, unseal_value([key.private_key], scope, ns, name, value)
        except UnsealError:
            continue
    raise UnsealError("no key opens it")


def reseal_stale(obj: Obj, keys: list[SealingKey]) -> tuple[Obj | None, list[str], int]:
    """(updated object or None when already sealed by keys[0], key Secret names that sealed it, item count).
    Raises SealingError naming the items no key opens (never their values)."""
    meta = obj.get("metadata") or {}
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    spec = obj.get("spec") or {}
    encrypted = spec.get("encryptedData") if isinstance(spec, dict) else None
    if not isinstance(encrypted, dict):
        if isinstance(spec, dict) and spec.get("data"):
            raise SealingError("uses the deprecated spec.data form; re-seal it with `strongroom seal`")
        raise SealingError("spec.encryptedData is missing or not a mapping")
    scope = scope_of(obj)
    newest = keys[0]
    stale: dict[str, bytes] = {}
    used: set[str] = set()
    failed: list[str] = []
    order = list(keys)
    for item, value in encrypted.items():
        try:
            key, plain = _which_key(order, scope, ns, name, str(value))
        except SealingError:
            failed.append(str(item))
            continue
        if order[0] is not key:  # items of one object are usually sealed together: try that key first next
            order.remove(key)
            order.insert(0, key)
        used.add(key.secret_name)
        if key.fingerprint != newest.fingerprint:
            stale[str(item)] = plain
    if failed:
        raise UnsealError(f"no key could decrypt item(s) {', '.join(sorted(failed))}")
    if not stale:
        return None, sorted(used), len(encrypted)
    updated = copy.deepcopy(obj)
    new_items = updated["spec"]["encryptedData"]
    public = newest.private_key.public_key()
    for item, plain in stale.items():
        new_items[item] = seal_value(public, scope, ns, name, plain)
    stale.clear()
    return updated, sorted(used), len(encrypted)


async def _one(kube: Kube, obj: Obj, keys: list[SealingKey], dry_run: bool) -> ObjectResult:
    meta = obj.get("metadata") or {}
    result = ObjectResult(str(meta.get("namespace") or ""), str(meta.get("name") or ""), "failed")
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        try:
            updated, result.sealed_by, result.items = reseal_stale(obj, keys)
        except SealingError as exc:
            result.action, result.error = "failed", str(exc)
            return result
        if updated is None:
            result.action = "up-to-date"
            return result
        if dry_run:
            result.action = "would-reencrypt"
            return result
        updated.pop("status", None)
        try:
            await kube.replace(kinds.SEALED_SECRET, updated)  # carries metadata.resourceVersion: optimistic
            result.action = "reencrypted"
            return result
        except Conflict:
            result.conflicts = attempt + 1
            try:
                obj = await kube.get(kinds.SEALED_SECRET, result.name, result.namespace)
            except NotFound:
                result.action = "gone"
                return result
        except KubeError as exc:
            result.action, result.error = "failed", f"update refused: {exc}"
            return result
    result.action, result.error = "failed", f"still conflicting after {MAX_CONFLICT_RETRIES} retries"
    return result


async def reencrypt_in_cluster(kube: Kube, keys: list[SealingKey], *, namespace: str | None = None,
                               dry_run: bool = False,
                               progress: Callable[[int, int, ObjectResult | None], None] | None = None) -> Summary:
    """Re-seal every stale SealedSecret in `namespace` (None: all) to `keys[0]` (newest first)."""
    if not keys:
        raise SealingError("no sealing keys found in the controller namespace")
    objects, _ = await kube.list(kinds.SEALED_SECRET, namespace)
    objects.sort(key=lambda o: (o.get("metadata", {}).get("namespace", ""), o.get("metadata", {}).get("name", "")))
    if progress is not None:
        progress(0, len(objects), None)
    results = []
    for done, obj in enumerate(objects, 1):
        results.append(await _one(kube, obj, keys, dry_run))
        if progress is not None:
            progress(done, len(objects), results[-1])
    return Summary(keys[0].secret_name, dry_run, results)
