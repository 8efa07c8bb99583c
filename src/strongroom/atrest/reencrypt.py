"""Rewrite objects through the Kubernetes API so the API server stores them with its current write key.

Per object: GET, then PUT the same object back (its resourceVersion makes the write conditional); a 409 means
someone else wrote it (and so re-encrypted it) in between: re-GET and retry. Progress is appended to a
checkpoint file (one line per finished object) so an interrupted run resumes where it stopped.
Generic (dict) resources are used so fields this lightkube version does not model are written back unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from lightkube import ApiError, Client
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource, create_api_info

BUILTIN = {
    "secrets": ("", "v1", "Secret", "secrets", True),
    "configmaps": ("", "v1", "ConfigMap", "configmaps", True),
}
RETRIABLE = {409, 429, 500, 503, 504}
_RESOURCES: dict[Any, Any] = {}


@dataclass(frozen=True)
class Target:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def resource(self) -> Any:
        """A dict-backed lightkube resource class, deliberately not put in lightkube's global registry (which
        may already hold the typed model for this kind; typed models drop fields they do not know)."""
        cached = _RESOURCES.get(self)
        if cached is None:
            base = GenericNamespacedResource if self.namespaced else GenericGlobalResource
            cached = type(
                self.kind, (base,), {"_api_info": create_api_info(self.group, self.version, self.kind, self.plural)}
            )
            _RESOURCES[self] = cached
        return cached


def parse_target(spec: str) -> Target:
    """`secrets`, `configmaps`, or `<group>/<version>/<Kind>/<plural>[/cluster]` (group may be empty)."""
    if spec in BUILTIN:
        return Target(*BUILTIN[spec])
    parts = spec.split("/")
    if len(parts) not in (4, 5) or (len(parts) == 5 and parts[4] != "cluster"):
        raise ValueError(f"resource {spec!r}: use secrets, configmaps or group/version/Kind/plural[/cluster]")
    return Target(parts[0], parts[1], parts[2], parts[3], len(parts) == 4)


class Checkpoint:
    """Append-only JSON lines: {"done": "<resource>/<ns>/<name>"}; {"complete": true} at the end."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.done: set[str] = set()
        self.complete = False
        if self.path and self.path.exists():
            for line in self.path.read_bytes().splitlines():
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a torn last line after a crash: that object is simply redone
                if "done" in rec:
                    self.done.add(str(rec["done"]))
                self.complete = self.complete or bool(rec.get("complete"))
        self._fh = self.path.open("ab") if self.path else None

    def mark(self, key: str) -> None:
        self.done.add(key)
        if self._fh:
            self._fh.write(orjson.dumps({"done": key}) + b"\n")
            self._fh.flush()

    def finish(self) -> None:
        self.complete = True
        if self._fh:
            self._fh.write(b'{"complete":true}\n')
            self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()


@dataclass
class Result:
    rewritten: int = 0
    resumed: int = 0
    gone: int = 0
    conflicts: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rewritten": self.rewritten,
            "skipped_from_checkpoint": self.resumed,
            "gone": self.gone,
            "conflicts_retried": self.conflicts,
            "failed": self.failed,
        }


class RateLimiter:
    def __init__(self, qps: float) -> None:
        self._interval = 1.0 / qps if qps > 0 else 0.0
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


def list_names(client: Client, target: Target, namespace: str | None) -> Iterator[tuple[str, str]]:
    res = target.resource()
    ns = (namespace or "*") if target.namespaced else None
    kwargs: dict[str, Any] = {"chunk_size": 500}
    if ns is not None:
        kwargs["namespace"] = ns
    for obj in client.list(res, **kwargs):
        meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
        name = meta["name"] if isinstance(meta, dict) else meta.name
        nsn = (meta.get("namespace") if isinstance(meta, dict) else meta.namespace) or ""
        yield nsn, name


def _rewrite_one(client: Client, res: Any, ns: str, name: str, result: Result, retries: int) -> str | None:
    """Returns None when done (rewritten or gone), else an error text."""
    for attempt in range(retries + 1):
        try:
            obj = client.get(res, name, namespace=ns or None)
            client.replace(obj)
            result.rewritten += 1
            return None
        except ApiError as exc:
            code = exc.status.code or 0
            if code == 404:
                result.gone += 1
                return None
            if code not in RETRIABLE or attempt == retries:
                return f"HTTP {code} {exc.status.reason or ''}".strip()
            if code == 409:
                result.conflicts += 1
            time.sleep(min(0.05 * 2**attempt, 2.0))
    return "retries exhausted"


def reencrypt(
    client: Client,
    targets: list[Target],
    *,
    checkpoint: Checkpoint,
    qps: float = 20.0,
    namespace: str | None = None,
    retries: int = 5,
    progress: Callable[[int, int, str], None] | None = None,
) -> Result:
    """Rewrite every object of `targets`; skips what the checkpoint lists as done."""
    result = Result()
    limiter = RateLimiter(qps)
    todo = [(t, ns, name) for t in targets for ns, name in sorted(list_names(client, t, namespace))]
    for i, (target, ns, name) in enumerate(todo, 1):
        key = f"{target.name}/{ns}/{name}"
        if key in checkpoint.done:
            result.resumed += 1
        else:
            limiter.wait()
            error = _rewrite_one(client, target.resource(), ns, name, result, retries)
            if error:
                result.failed.append({"object": key, "error": error})
            else:
                checkpoint.mark(key)
        if progress:
            progress(i, len(todo), key)
    if not result.failed:
        checkpoint.finish()
    return result
