"""Workload hygiene: how pods receive Secrets and service-account tokens."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.loader import K8sObject

__all__ = ["CHECKS", "containers", "pod_specs"]

_TEMPLATE_KINDS = (
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "ReplicationController",
    "PodTemplate",
)
_SENSITIVE_DIRS = (
    "/etc/kubernetes",
    "/var/lib/etcd",
    "/etc/etcd",
    "/var/lib/kubelet/pki",
    "/etc/pki",
    "/etc/ssl/private",
    "/var/run/secrets/kubernetes.io",
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_OWNER_KINDS = frozenset({"ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"})


def _controlled(pod: K8sObject) -> bool:
    refs = pod.metadata.get("ownerReferences")
    return any(isinstance(r, dict) and r.get("controller") and r.get("kind") in _OWNER_KINDS for r in _list(refs))


def pod_specs(ctx: Context) -> Iterator[tuple[K8sObject, dict[str, Any]]]:
    """Every pod spec in the input, from Pods, workload templates and CronJobs.

    When the input also holds workloads (a cluster or a full dump), Pods created by a ReplicaSet, DaemonSet,
    StatefulSet or Job are skipped: their template is checked at the workload, once instead of per replica.
    """
    has_templates = any(ctx.by_kind.get(k) for k in (*_TEMPLATE_KINDS, "CronJob"))
    for obj in ctx.kind("Pod"):
        if has_templates and _controlled(obj):
            continue
        yield obj, _dict(obj.raw.get("spec"))
    for obj in ctx.kind(*_TEMPLATE_KINDS):
        spec = obj.raw.get("template") if obj.kind == "PodTemplate" else _dict(obj.raw.get("spec")).get("template")
        yield obj, _dict(_dict(spec).get("spec"))
    for obj in ctx.kind("CronJob"):
        job = _dict(_dict(obj.raw.get("spec")).get("jobTemplate"))
        yield obj, _dict(_dict(_dict(job.get("spec")).get("template")).get("spec"))


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _list(spec.get(key)):
            if isinstance(c, dict):
                yield c


def _service_accounts(ctx: Context) -> dict[tuple[str | None, str], K8sObject]:
    return {(o.namespace, o.name): o for o in ctx.kind("ServiceAccount")}


def _automount(check: Check, ctx: Context) -> Iterator[Finding]:
    """Only the implicit default is reported: an explicit `true` (pod or ServiceAccount) is a decision."""
    accounts = _service_accounts(ctx)
    for obj, spec in pod_specs(ctx):
        if spec.get("automountServiceAccountToken") is not None:
            continue
        sa_name = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        sa = accounts.get((obj.namespace, sa_name))
        if sa is not None and sa.raw.get("automountServiceAccountToken") is not None:
            continue
        yield check.finding(obj, f"{obj.ref} mounts a token for service account {sa_name} into every container")


def _secret_env(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj, spec in pod_specs(ctx):
        names: list[str] = []
        for c in containers(spec):
            for env in _list(c.get("env")):
                ref = _dict(_dict(_dict(env).get("valueFrom")).get("secretKeyRef"))
                if ref:
                    names.append(f"{c.get('name')}: env {_dict(env).get('name')} <- secret {ref.get('name')}")
            for env_from in _list(c.get("envFrom")):
                ref = _dict(_dict(env_from).get("secretRef"))
                if ref:
                    names.append(f"{c.get('name')}: envFrom secret {ref.get('name')}")
        if names:
            yield check.finding(obj, f"{obj.ref} passes Secrets through environment variables ({'; '.join(names)})")


def _too_open(mode: Any) -> bool:
    # group may read (0o040); anything for "other", or write/execute for group, is too open
    return isinstance(mode, int) and not isinstance(mode, bool) and bool(mode & 0o037)


def _secret_volume_modes(spec: dict[str, Any]) -> Iterator[tuple[str, int]]:
    for vol in _list(spec.get("volumes")):
        vol = _dict(vol)
        secret = _dict(vol.get("secret"))
        if secret:
            yield f"volume {vol.get('name')}", secret.get("defaultMode", 0)
            for item in _list(secret.get("items")):
                yield f"volume {vol.get('name')} item {_dict(item).get('key')}", _dict(item).get("mode", 0)
        projected = _dict(vol.get("projected"))
        sources = [_dict(_dict(s).get("secret")) for s in _list(projected.get("sources"))]
        if any(sources):
            yield f"projected volume {vol.get('name')}", projected.get("defaultMode", 0)
            for src in sources:
                for item in _list(src.get("items")):
                    yield (
                        f"volume {vol.get('name')} item {_dict(item).get('key')}",
                        _dict(item).get("mode", 0),
                    )


def _volume_mode(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj, spec in pod_specs(ctx):
        bad = [f"{where} mode {oct(mode)}" for where, mode in _secret_volume_modes(spec) if _too_open(mode)]
        if bad:
            yield check.finding(obj, f"{obj.ref} mounts Secret files readable by others ({'; '.join(bad)})")


def _sensitive(path: str) -> bool:
    norm = posixpath.normpath(path)
    if norm in ("/", "//"):
        return True
    return any(d == norm or d.startswith(norm.rstrip("/") + "/") or norm.startswith(d + "/") for d in _SENSITIVE_DIRS)


def _hostpath(check: Check, ctx: Context) -> Iterator[Finding]:
    for obj, spec in pod_specs(ctx):
        for vol in _list(spec.get("volumes")):
            path = _dict(_dict(vol).get("hostPath")).get("path")
            if isinstance(path, str) and _sensitive(path):
                yield check.finding(obj, f"{obj.ref} mounts host path {path} (cluster PKI / etcd data)")


def _pod(spec: str, extra_top: str = "") -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: app\nspec:\n{extra_top}{spec}"


_C = "  containers:\n  - name: web\n    image: nginx:1.27\n"

CHECKS = [
    Check(
        "automount-serviceaccount-token",
        "Service-account token mounted automatically",
        Severity.LOW,
        "Set `automountServiceAccountToken: false` on the pod or its ServiceAccount unless it calls the API.",
        _automount,
        _pod(_C),
        _pod(_C, "  automountServiceAccountToken: false\n"),
        category="workload",
    ),
    Check(
        "secret-in-env",
        "Secret passed as environment variable",
        Severity.MEDIUM,
        "Mount the Secret as a volume (files are not inherited by child processes or crash dumps).",
        _secret_env,
        _pod(
            _C + "    env:\n    - name: DB_PASSWORD\n      valueFrom:\n" + "        secretKeyRef: {name: db, key: pw}\n"
        ),
        _pod(
            _C + "    volumeMounts:\n    - {name: db, mountPath: /run/db, readOnly: true}\n"
            "  volumes:\n  - name: db\n    secret: {secretName: db}\n"
        ),
        category="workload",
    ),
    Check(
        "secret-volume-mode",
        "Secret volume files readable by others",
        Severity.MEDIUM,
        "Set `defaultMode: 0400` (or 0440 with fsGroup) on secret volumes.",
        _volume_mode,
        _pod(_C + "  volumes:\n  - name: db\n    secret: {secretName: db, defaultMode: 0644}\n"),
        _pod(_C + "  volumes:\n  - name: db\n    secret: {secretName: db, defaultMode: 0400}\n"),
        category="workload",
    ),
    Check(
        "hostpath-sensitive",
        "hostPath mount of cluster PKI or etcd data",
        Severity.CRITICAL,
        "Do not mount /etc/kubernetes, /var/lib/etcd or other PKI directories into workloads.",
        _hostpath,
        _pod(_C + "  volumes:\n  - name: pki\n    hostPath: {path: /etc/kubernetes/pki}\n"),
        _pod(_C + "  volumes:\n  - name: logs\n    hostPath: {path: /var/log/app}\n"),
        category="workload",
    ),
]
