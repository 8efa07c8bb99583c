"""Pure helpers of the fake API server: label selectors, merge patch, managed-field paths.

Hand-written because no maintained Python package implements the API server's side of these; they follow the
Kubernetes documentation for label selectors, RFC 7386 for JSON merge patch and the field-ownership rules of
server-side apply (simplified: lists are atomic).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

Path = tuple[str, ...]

_SET_RE = re.compile(r"^\s*(!?[\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """The label selector does not parse."""


def _split_selector(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def label_matches(selector: str | None, labels: dict[str, str] | None) -> bool:
    """True when `labels` satisfy the Kubernetes label `selector` (equality- and set-based)."""
    if not selector:
        return True
    labels = labels or {}
    for req in _split_selector(selector):
        m = _SET_RE.match(req)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in" and labels.get(key) not in values:
                return False
            if op == "notin" and key in labels and labels[key] in values:
                return False
            continue
        if "!=" in req:
            key, value = (s.strip() for s in req.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in req:
            key, value = (s.strip() for s in req.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif re.fullmatch(r"[\w./-]+", req):
            if req not in labels:
                return False
        else:
            raise SelectorError(f"unable to parse requirement: {req!r}")
    return True


def field_matches(selector: str | None, obj: dict[str, Any]) -> bool:
    """Field selectors: only metadata.name and metadata.namespace (what controllers use)."""
    if not selector:
        return True
    meta = obj.get("metadata", {})
    for req in _split_selector(selector):
        neg = "!=" in req
        key, value = (s.strip() for s in req.replace("==", "=").replace("!=", "=").split("=", 1))
        field = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}.get(key)
        if key not in ("metadata.name", "metadata.namespace"):
            raise SelectorError(f"field label not supported: {key}")
        if (field == value) == neg:
            return False
    return True


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: returns a new value, `null` deletes."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def leaf_paths(obj: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every leaf path of a JSON object; lists and scalars are leaves (atomic)."""
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            yield from leaf_paths(value, (*prefix, key))
    elif prefix:
        yield prefix


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def delete_path(obj: dict[str, Any], path: Path) -> None:
    """Remove a leaf and any map it leaves empty."""
    parents: list[tuple[dict[str, Any], str]] = []
    cur: Any = obj
    for key in path[:-1]:
        if not isinstance(cur, dict) or key not in cur:
            return
        parents.append((cur, key))
        cur = cur[key]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)
        for parent, key in reversed(parents):
            if parent[key] == {}:
                del parent[key]
            else:
                break


def fields_v1(paths: set[Path]) -> dict[str, Any]:
    """Render owned paths in the API server's FieldsV1 shape (`{"f:spec": {"f:x": {}}}`)."""
    out: dict[str, Any] = {}
    for path in sorted(paths):
        cur = out
        for key in path:
            cur = cur.setdefault(f"f:{key}", {})
    return out


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()
MISSING = _MISSING
