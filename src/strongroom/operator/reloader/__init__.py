"""Rollout on Secret change: annotate a Deployment/StatefulSet/DaemonSet and it restarts when a Secret it uses
changes (ESO#3218: rotation is useless if the process never re-reads the value).

Opt in on the workload's metadata.annotations:
  `strongroom.io/reload: "true"`              every Secret the pod template references (env, envFrom, volumes,
                                              projected volumes, imagePullSecrets)
  `strongroom.io/reload-secrets: "a,b"`       only these Secrets
Stakater Reloader's `reloader.stakater.com/auto: "true"` and `secret.reloader.stakater.com/reload: "a,b"` are
honoured too, so existing manifests keep working.

The first time a workload is seen its Secrets' hash is recorded on the workload only (no restart at opt-in);
when the hash changes it is written to the pod template annotation `strongroom.io/secrets-hash`, which makes
the workload controller roll out new pods. Values are never read into logs or Events: only hashes.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from typing import Any

from prometheus_client import Counter

from strongroom.operator.kube import Kube, NotFound, Obj, ResourceKind, kinds
from strongroom.operator.runtime import NORMAL, Controller, EventRecorder, Informer, Runtime, Watch, object_key
from strongroom.operator.runtime.metrics import REGISTRY

log = logging.getLogger(__name__)
AUTO = ("strongroom.io/reload", "reloader.stakater.com/auto")
EXPLICIT = ("strongroom.io/reload-secrets", "secret.reloader.stakater.com/reload")
HASH = "strongroom.io/secrets-hash"
ROLLOUTS = Counter("strongroom_reloader_rollouts_total", "Workloads restarted because a Secret changed", ["kind"],
                   registry=REGISTRY)
WORKLOADS = (kinds.DEPLOYMENT, kinds.STATEFULSET, kinds.DAEMONSET)


def referenced_secrets(workload: Obj) -> set[str]:
    """Secret names a pod template uses."""
    pod = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    names: set[str] = {r.get("name", "") for r in pod.get("imagePullSecrets") or []}
    for c in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref.get("name", ""))
        for src in c.get("envFrom") or []:
            if src.get("secretRef"):
                names.add(src["secretRef"].get("name", ""))
    for vol in pod.get("volumes") or []:
        if vol.get("secret"):
            names.add(vol["secret"].get("secretName", ""))
        for proj in (vol.get("projected") or {}).get("sources") or []:
            if proj.get("secret"):
                names.add(proj["secret"].get("name", ""))
    names.discard("")
    return names


def watched_secrets(workload: Obj) -> set[str] | None:
    """None when the workload did not opt in."""
    ann = workload.get("metadata", {}).get("annotations") or {}
    for key in EXPLICIT:
        if ann.get(key):
            return {s.strip() for s in ann[key].split(",") if s.strip()}
    if any(str(ann.get(key, "")).lower() == "true" for key in AUTO):
        return referenced_secrets(workload)
    return None


def secrets_hash(names: set[str], secrets: dict[str, Obj | None]) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        secret = secrets.get(name)
        h.update(name.encode() + b"\0")
        if secret is None:
            h.update(b"<missing>\0")
            continue
        for k, v in sorted((secret.get("data") or {}).items()):
            h.update(k.encode() + b"=" + str(v).encode() + b"\0")
    return h.hexdigest()[:32]


class WorkloadReloader:
    def __init__(self, kube: Kube, kind: ResourceKind, workloads: Informer, secrets: Informer) -> None:
        self.kube, self.kind, self.workloads, self.secrets = kube, kind, workloads, secrets
        self.events = EventRecorder(kube, "strongroom-reloader")
        self.uses: dict[str, set[str]] = defaultdict(set)  # "ns/secret" -> workload keys
        self._uses_of: dict[str, set[str]] = {}

    def _index(self, key: str, secret_keys: set[str]) -> None:
        for s in self._uses_of.pop(key, set()):
            self.uses[s].discard(key)
        if secret_keys:
            self._uses_of[key] = secret_keys
            for s in secret_keys:
                self.uses[s].add(key)

    async def reconcile(self, key: str) -> None:
        wl = self.workloads.get(key)
        names = watched_secrets(wl) if wl is not None else None
        if wl is None or names is None:
            self._index(key, set())
            return
        ns = wl["metadata"].get("namespace", "")
        self._index(key, {f"{ns}/{n}" for n in names})
        digest = secrets_hash(names, {n: self.secrets.get(f"{ns}/{n}") for n in names})
        meta_ann = wl["metadata"].get("annotations") or {}
        if meta_ann.get(HASH) == digest:
            return
        patch: dict[str, Any] = {"metadata": {"annotations": {HASH: digest}}}
        first = HASH not in meta_ann
        if not first:  # a change, not the opt-in: roll out
            patch["spec"] = {"template": {"metadata": {"annotations": {HASH: digest}}}}
        try:
            updated = await self.kube.merge_patch(self.kind, wl["metadata"]["name"], patch, ns)
        except NotFound:
            return
        self.workloads.remember(updated, based_on=wl["metadata"].get("resourceVersion"))
        if not first:
            ROLLOUTS.labels(self.kind.kind).inc()
            self.events.emit(wl, NORMAL, "SecretsChanged", "rolling out: a Secret it uses changed")
            log.info("reloader: %s %s rolled out (Secret changed)", self.kind.kind, key)


def install(runtime: Runtime, *, watch_namespace: str | None = None, workers: int = 2) -> list[WorkloadReloader]:
    secrets = runtime.informer(kinds.SECRET, watch_namespace)
    out = []
    for kind in WORKLOADS:
        reloader = WorkloadReloader(runtime.kube, kind, runtime.informer(kind, watch_namespace), secrets)

        def secret_to_workloads(secret: Obj, r: WorkloadReloader = reloader) -> list[str]:
            return sorted(r.uses.get(object_key(secret), set()))

        runtime.add_controller(Controller(f"reloader-{kind.plural}", reloader, reloader.workloads,
                                          [Watch(secrets, secret_to_workloads)], workers=workers))
        out.append(reloader)
    return out


__all__ = ["HASH", "WorkloadReloader", "install", "referenced_secrets", "secrets_hash", "watched_secrets"]
