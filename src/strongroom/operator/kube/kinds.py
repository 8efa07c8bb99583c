"""Resource kinds the operator talks about, as lightkube generic resources that decode to plain dicts.

Every kind (core ones too) goes through lightkube's `Generic` dict type, so controllers see one shape (plain
JSON-like dicts) and we pay no model-conversion cost. The classes are deliberately NOT put in lightkube's global
resource registry, so other code in the process that uses lightkube's typed models is not affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lightkube.core import resource as lk_resource
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericGlobalStatus,
    GenericNamespacedResource,
    GenericNamespacedStatus,
)

_VERBS = ["delete", "deletecollection", "get", "global_list", "global_watch", "list", "patch", "post", "put",
          "watch"]


@dataclass(frozen=True)
class ResourceKind:
    """One API resource: `ResourceKind("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets")`."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    resource: Any = field(init=False, compare=False, repr=False)
    status: Any = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        rdef = lk_resource.ResourceDef(self.group, self.version, self.kind)
        info = lk_resource.ApiInfo(resource=rdef, plural=self.plural, verbs=list(_VERBS))
        main, sub = ((GenericNamespacedResource, GenericNamespacedStatus) if self.namespaced
                     else (GenericGlobalResource, GenericGlobalStatus))
        status_info = lk_resource.ApiInfo(resource=rdef, parent=rdef, plural=self.plural,
                                          verbs=["get", "patch", "put"], action="status")
        status_cls = type(f"{self.kind}Status", (sub,), {"_api_info": status_info})
        main_cls = type(self.kind, (main,), {"_api_info": info, "Status": status_cls})
        object.__setattr__(self, "resource", main_cls)
        object.__setattr__(self, "status", status_cls)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


SECRET = ResourceKind("", "v1", "Secret", "secrets")
CONFIGMAP = ResourceKind("", "v1", "ConfigMap", "configmaps")
NAMESPACE = ResourceKind("", "v1", "Namespace", "namespaces", namespaced=False)
SERVICE_ACCOUNT = ResourceKind("", "v1", "ServiceAccount", "serviceaccounts")
POD = ResourceKind("", "v1", "Pod", "pods")
EVENT = ResourceKind("", "v1", "Event", "events")
DEPLOYMENT = ResourceKind("apps", "v1", "Deployment", "deployments")
STATEFULSET = ResourceKind("apps", "v1", "StatefulSet", "statefulsets")
DAEMONSET = ResourceKind("apps", "v1", "DaemonSet", "daemonsets")
LEASE = ResourceKind("coordination.k8s.io", "v1", "Lease", "leases")
SEALED_SECRET = ResourceKind("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets")
EXTERNAL_SECRET = ResourceKind("external-secrets.io", "v1", "ExternalSecret", "externalsecrets")
SECRET_STORE = ResourceKind("external-secrets.io", "v1", "SecretStore", "secretstores")
CLUSTER_SECRET_STORE = ResourceKind("external-secrets.io", "v1", "ClusterSecretStore", "clustersecretstores",
                                    namespaced=False)
