"""Pure decision: given the unsealed Secret and the Secret that exists, what (if anything) to write.

Rules (upstream's, see sealed-secrets-format.md §9):
* no Secret -> create it;
* a Secret we control (controller ownerReference with the SealedSecret's uid) or annotated
  `sealedsecrets.bitnami.com/managed: "true"` -> data, labels, annotations, ownerReferences and type replaced;
* annotated `sealedsecrets.bitnami.com/patch: "true"` -> data/labels/annotations merged, others kept;
  ownerReferences only set if also managed;
* anything else -> refused (we never adopt a Secret we don't own);
* an immutable Secret whose content would change -> refused, not retried.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from strongroom.operator.kube import Obj
from strongroom.sealing import ANNOTATION_MANAGED, ANNOTATION_PATCH

_COMPARED = ("data", "type", "immutable")


@dataclass(frozen=True)
class Plan:
    action: str  # "create" | "update" | "none" | "refuse" | "immutable"
    body: Obj | None = None
    message: str = ""


def is_controlled_by(secret: Obj, uid: str) -> bool:
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in secret.get("metadata", {}).get("ownerReferences") or [])


def _strip(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v not in (None, {}, [])}


def plan(sealed: Obj, desired: Obj, existing: Obj | None) -> Plan:
    """Decide the write. `desired` is what `strongroom.sealing.unseal_sealed_secret` returned."""
    desired = copy.deepcopy(desired)
    desired.pop("apiVersion", None), desired.pop("kind", None)
    if existing is None:
        return Plan("create", desired)
    name = desired["metadata"]["name"]
    uid = sealed.get("metadata", {}).get("uid", "")
    ann = existing.get("metadata", {}).get("annotations") or {}
    managed = is_controlled_by(existing, uid) or ann.get(ANNOTATION_MANAGED) == "true"
    patch = ann.get(ANNOTATION_PATCH) == "true"
    if not managed and not patch:
        return Plan("refuse", message=f'Resource "{name}" already exists and is not managed by SealedSecret')
    new = copy.deepcopy(existing)
    meta, want = new["metadata"], desired["metadata"]
    if managed and not patch:
        for field in ("labels", "annotations", "ownerReferences"):
            if want.get(field):
                meta[field] = copy.deepcopy(want[field])
            else:
                meta.pop(field, None)
        if ann.get(ANNOTATION_MANAGED) == "true":  # keep the opt-in that lets us manage it
            meta.setdefault("annotations", {})[ANNOTATION_MANAGED] = "true"
        new["data"] = desired.get("data", {})
    else:
        for field in ("labels", "annotations"):
            if want.get(field):
                meta[field] = {**(meta.get(field) or {}), **want[field]}
        if managed and want.get("ownerReferences"):
            meta["ownerReferences"] = copy.deepcopy(want["ownerReferences"])
        new["data"] = {**(existing.get("data") or {}), **desired.get("data", {})}
    if desired.get("type"):
        new["type"] = desired["type"]
    if "immutable" in desired:
        new["immutable"] = desired["immutable"]
    if _same(existing, new):
        return Plan("none")
    if existing.get("immutable"):
        return Plan("immutable", message=f'Secret "{name}" is immutable and cannot be updated')
    return Plan("update", new)


def _same(a: Obj, b: Obj) -> bool:
    if any((a.get(f) or None) != (b.get(f) or None) for f in _COMPARED):
        return False
    ma, mb = a.get("metadata", {}), b.get("metadata", {})
    return all((ma.get(f) or None) == (mb.get(f) or None) for f in ("labels", "annotations", "ownerReferences"))
