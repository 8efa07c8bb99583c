"""Read a live cluster through the Kubernetes API (list calls only, read-only) with lightkube.

Secret values are dropped as soon as each Secret arrives (only key names are kept), so a live lint never holds
or prints a value. Custom resources that may be absent (SealedSecret, ExternalSecret) are skipped on 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
from lightkube import ApiError, Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources import apps_v1, batch_v1, core_v1, networking_v1, rbac_authorization_v1

from strongroom.rbaclint.loader import LoadError, LoadResult, objects_from_dicts

__all__ = ["ClusterError", "load_cluster"]

_SEALED = create_namespaced_resource("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets")
_EXTERNAL = create_namespaced_resource("external-secrets.io", "v1", "ExternalSecret", "externalsecrets")

# (resource class, apiVersion, kind, optional)
_RESOURCES: list[tuple[Any, str, str, bool]] = [
    (core_v1.Namespace, "v1", "Namespace", False),
    (core_v1.ServiceAccount, "v1", "ServiceAccount", False),
    (core_v1.Secret, "v1", "Secret", False),
    (core_v1.Pod, "v1", "Pod", False),
    (rbac_authorization_v1.ClusterRole, "rbac.authorization.k8s.io/v1", "ClusterRole", False),
    (rbac_authorization_v1.ClusterRoleBinding, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
    (rbac_authorization_v1.Role, "rbac.authorization.k8s.io/v1", "Role", False),
    (rbac_authorization_v1.RoleBinding, "rbac.authorization.k8s.io/v1", "RoleBinding", False),
    (apps_v1.Deployment, "apps/v1", "Deployment", False),
    (apps_v1.DaemonSet, "apps/v1", "DaemonSet", False),
    (apps_v1.StatefulSet, "apps/v1", "StatefulSet", False),
    (batch_v1.CronJob, "batch/v1", "CronJob", False),
    (networking_v1.NetworkPolicy, "networking.k8s.io/v1", "NetworkPolicy", False),
    (_SEALED, "bitnami.com/v1alpha1", "SealedSecret", True),
    (_EXTERNAL, "external-secrets.io/v1", "ExternalSecret", True),
]
_GLOBAL = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


class ClusterError(Exception):
    """The cluster could not be read (no kubeconfig, unreachable, forbidden)."""


def _redact_secret(doc: dict[str, Any]) -> None:
    for field in ("data", "stringData"):
        values = doc.get(field)
        if isinstance(values, dict):
            doc[field] = dict.fromkeys(values, "")


def _client(kubeconfig: str | None, context: str | None, server: str | None) -> Client:
    try:
        if server is not None:
            config = KubeConfig.from_one(cluster=Cluster(server=server), user=User())  # no auth: kubectl proxy
        elif kubeconfig is not None:
            config = KubeConfig.from_file(kubeconfig)
        else:
            config = KubeConfig.from_env()
        return Client(config.get(context_name=context), trust_env=False)
    except Exception as exc:  # lightkube raises several config error types
        raise ClusterError(f"cannot load Kubernetes configuration: {type(exc).__name__}: {exc}") from None


def load_cluster(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    server: str | None = None,
    progress: Callable[[str], None] | None = None,
    chunk_size: int = 500,
) -> LoadResult:
    """List every kind the checks need, across all namespaces."""
    client = _client(kubeconfig, context, server)
    result = LoadResult()
    for res, api_version, kind, optional in _RESOURCES:
        if progress is not None:
            progress(kind)
        try:
            items = (
                client.list(res, chunk_size=chunk_size)
                if kind in _GLOBAL
                else client.list(res, namespace="*", chunk_size=chunk_size)
            )
            docs = []
            for item in items:
                doc = item.to_dict() if hasattr(item, "to_dict") else dict(item)
                doc["apiVersion"], doc["kind"] = api_version, kind
                if kind == "Secret":
                    _redact_secret(doc)
                docs.append(doc)
        except ApiError as exc:
            if optional and exc.status.code == 404:
                continue
            result.errors.append(LoadError(f"cluster:{kind}", 0, f"list failed: {exc.status.code} {exc.status.reason}"))
            continue
        except httpx2.HTTPError as exc:
            raise ClusterError(f"cannot reach the Kubernetes API: {type(exc).__name__}") from None
        result.objects.extend(objects_from_dicts(docs, f"cluster:{kind}", 0, from_cluster=True))
    return result
