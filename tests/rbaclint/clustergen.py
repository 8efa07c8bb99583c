"""Deterministic generator of a realistic cluster dump (a `kind: List`, as `kubectl get ... -o json` writes).

Used by the tests (small sizes) and by bench/rbaclint (10,000 objects). A few known problems are planted so the
tests can assert they are found in a large dump: a cluster-wide binding to `default` in ns-0003, a wildcard
ClusterRole aggregated into `platform-reader`, and an EncryptionConfiguration is NOT included (dumps don't have it).
"""

from __future__ import annotations

import base64
import random
from typing import Any

RB = "rbac.authorization.k8s.io/v1"


def _meta(name: str, ns: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}-{ns}", "resourceVersion": "1"}
    if ns:
        meta["namespace"] = ns
    meta.update(extra)
    return meta


def _deployment(ns: str, name: str, sa: str, secret: str, rnd: random.Random) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": f"registry.example/{name}:1.{rnd.randint(0, 9)}"}
    spec: dict[str, Any] = {"serviceAccountName": sa, "containers": [container]}
    if rnd.random() < 0.5:
        container["env"] = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "pw"}}}]
    else:
        container["volumeMounts"] = [{"name": "creds", "mountPath": "/run/creds", "readOnly": True}]
        spec["volumes"] = [{"name": "creds", "secret": {"secretName": secret, "defaultMode": 0o400}}]
        spec["automountServiceAccountToken"] = False
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, ns, labels={"app": name}),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def _namespace_objects(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    ns = f"ns-{i:04d}"
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)}]
    for s in ("default", "api", "worker"):
        objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(s, ns)})
    for s in ("db", "api-key", "tls"):
        value = base64.b64encode(rnd.randbytes(24)).decode()
        objs.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(s, ns), "type": "Opaque", "data": {"pw": value}}
        )
    objs.append(_deployment(ns, "api", "api", "db", rnd))
    objs.append(_deployment(ns, "worker", "worker", "api-key", rnd))
    objs.append(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("settings", ns), "data": {"LOG_LEVEL": "info"}}
    )
    objs.append(
        {
            "apiVersion": RB,
            "kind": "Role",
            "metadata": _meta("api-secrets", ns),
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}],
        }
    )
    objs.append(
        {
            "apiVersion": RB,
            "kind": "RoleBinding",
            "metadata": _meta("api-secrets", ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "api-secrets"},
            "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": ns}],
        }
    )
    objs.append(
        {
            "apiVersion": RB,
            "kind": "RoleBinding",
            "metadata": _meta("devs-edit", ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "Group", "name": f"team-{i % 7}", "apiGroup": "rbac.authorization.k8s.io"}],
        }
    )
    if i % 2 == 0:
        objs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("default-deny", ns),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }
        )
    return objs


def _cluster_objects() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": RB,
            "kind": "ClusterRole",
            "metadata": _meta("platform-reader"),
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-reader": "true"}}]},
            "rules": [],
        },
        {
            "apiVersion": RB,
            "kind": "ClusterRole",
            "metadata": _meta("crd-reader", labels={"example.com/aggregate-to-reader": "true"}),
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}],
        },
        {
            "apiVersion": RB,
            "kind": "ClusterRoleBinding",
            "metadata": _meta("platform-reader"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "platform-reader"},
            "subjects": [{"kind": "Group", "name": "sre", "apiGroup": "rbac.authorization.k8s.io"}],
        },
        {
            "apiVersion": RB,
            "kind": "ClusterRoleBinding",
            "metadata": _meta("legacy-app-view"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "ns-0003"}],
        },
        {
            "apiVersion": RB,
            "kind": "ClusterRole",
            "metadata": _meta("cluster-admin", labels={"kubernetes.io/bootstrapping": "rbac-defaults"}),
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        },
        {
            "apiVersion": RB,
            "kind": "ClusterRoleBinding",
            "metadata": _meta("cluster-admin", labels={"kubernetes.io/bootstrapping": "rbac-defaults"}),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    ]


PER_NAMESPACE = 14.5  # average objects per namespace (NetworkPolicy in every other one)


def generate(objects: int = 10_000, seed: int = 7) -> dict[str, Any]:
    """A `List` with about `objects` items."""
    rnd = random.Random(seed)
    items = _cluster_objects()
    i = 0
    while len(items) < objects:
        items.extend(_namespace_objects(i, rnd))
        i += 1
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items[:objects]}
