"""Behaviour of individual checks beyond their examples: severities, scoping, de-duplication, redaction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strongroom.rbaclint.base import Severity
from strongroom.rbaclint.engine import lint
from strongroom.rbaclint.loader import load_text
from strongroom.rbaclint.model import PolicyRule

RB = "rbac.authorization.k8s.io/v1"


def _findings(text: str):
    loaded = load_text(text, "t.yaml")
    assert not loaded.errors
    return lint(loaded.objects).findings


def test_wildcard_in_namespaced_role_is_high_not_critical():
    role = (
        f"apiVersion: {RB}\nkind: Role\nmetadata: {{name: r, namespace: a}}\n"
        "rules:\n- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n"
    )
    [f] = [f for f in _findings(role) if f.rule_id == "wildcard-all"]
    assert f.severity == Severity.HIGH
    cluster = role.replace("kind: Role", "kind: ClusterRole")
    [f] = [f for f in _findings(cluster) if f.rule_id == "wildcard-all"]
    assert f.severity == Severity.CRITICAL


def test_broad_group_severity_by_scope():
    crb = (
        f"apiVersion: {RB}\nkind: ClusterRoleBinding\nmetadata: {{name: b}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"
        "subjects: [{kind: Group, name: system:unauthenticated, apiGroup: rbac.authorization.k8s.io}]\n"
    )
    assert [f.severity for f in _findings(crb) if f.rule_id == "broad-group-grant"] == [Severity.CRITICAL]
    rb = crb.replace("ClusterRoleBinding\nmetadata: {name: b}", "RoleBinding\nmetadata: {name: b, namespace: a}")
    assert [f.severity for f in _findings(rb) if f.rule_id == "broad-group-grant"] == [Severity.HIGH]
    safe = crb.replace("name: view", "name: system:public-info-viewer")
    assert not [f for f in _findings(safe) if f.rule_id == "broad-group-grant"]


def test_bootstrap_objects_are_not_reported():
    text = (
        f"apiVersion: {RB}\nkind: ClusterRoleBinding\nmetadata:\n  name: cluster-admin\n"
        "  labels: {kubernetes.io/bootstrapping: rbac-defaults}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{kind: Group, name: system:masters, apiGroup: rbac.authorization.k8s.io}]\n"
    )
    assert _findings(text) == []


POD_OWNED = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-1, namespace: a}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      containers: [{name: c, image: x, env: [{name: P, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-abcde
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, controller: true, uid: u}]
spec:
  automountServiceAccountToken: false
  containers: [{name: c, image: x, env: [{name: P, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]
"""


def test_controller_owned_pods_reported_once_at_the_template():
    refs = [f.obj.ref for f in _findings(POD_OWNED) if f.rule_id == "secret-in-env"]
    assert refs == ["ReplicaSet/a/web-1"]
    pod_only = POD_OWNED.split("---")[1]
    assert [f.obj.ref for f in _findings(pod_only) if f.rule_id == "secret-in-env"] == ["Pod/a/web-1-abcde"]


def test_aggregated_wildcard_names_the_bound_aggregate():
    text = (
        f"apiVersion: {RB}\nkind: ClusterRole\nmetadata: {{name: agg}}\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {x/agg: 'true'}}]}\nrules: []\n---\n"
        f"apiVersion: {RB}\nkind: ClusterRole\nmetadata: {{name: part, labels: {{x/agg: 'true'}}}}\n"
        "rules: [{apiGroups: [''], resources: ['*'], verbs: [get]}]\n---\n"
        f"apiVersion: {RB}\nkind: ClusterRoleBinding\nmetadata: {{name: agg}}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg}\n"
        "subjects: [{kind: User, name: bob}]\n"
    )
    [f] = [f for f in _findings(text) if f.rule_id == "secrets-wildcard-read"]
    assert f.obj.name == "part" and "ClusterRoleBinding agg" in f.message


def test_materialized_aggregate_is_reported_once_at_the_source():
    # in a cluster dump the aggregation controller has copied the source's rules into the aggregate
    text = (
        f"apiVersion: {RB}\nkind: ClusterRole\nmetadata: {{name: agg}}\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {x/agg: 'true'}}]}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n---\n"
        f"apiVersion: {RB}\nkind: ClusterRole\nmetadata: {{name: part, labels: {{x/agg: 'true'}}}}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n"
    )
    assert [f.obj.name for f in _findings(text) if f.rule_id == "secrets-list-watch"] == ["part"]


def test_encryption_key_never_in_messages():
    key = "dGhpcy1pcy1hLXNhbXBsZS1rZXktMzItYnl0ZXMtb2s="
    text = (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        f"- resources: [secrets]\n  providers:\n  - secretbox:\n      keys: [{{name: k, secret: {key}}}]\n"
    )
    findings = _findings(text)
    assert [f.rule_id for f in findings] == ["encryption-weak-key"]
    assert key not in findings[0].message and "this-is-a-sample" not in findings[0].message


_names = st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=3)
_rules = st.builds(
    PolicyRule,
    st.frozensets(st.sampled_from(["get", "list", "create", "*"]), min_size=1, max_size=3),
    st.frozensets(st.sampled_from(["", "apps", "*"]), min_size=1, max_size=2),
    st.frozensets(st.sampled_from(["secrets", "pods", "pods/exec", "*", "*/exec"]), min_size=1, max_size=3),
    _names,
)


@given(
    _rules,
    st.sampled_from(["get", "list", "create"]),
    st.sampled_from(["", "apps"]),
    st.sampled_from(["secrets", "pods", "pods/exec"]),
    st.sampled_from([None, "a", "z"]),
)
def test_resource_names_only_narrow(rule, verb, group, resource, name):
    unnarrowed = PolicyRule(rule.verbs, rule.api_groups, rule.resources)
    if rule.matches(verb, group, resource, name):
        assert unnarrowed.matches(verb, group, resource, name)
        if rule.resource_names:
            assert name in rule.resource_names


WHO = f"""
apiVersion: {RB}
kind: Role
metadata: {{name: reader, namespace: shop}}
rules: [{{apiGroups: [''], resources: [secrets], resourceNames: [db], verbs: [get]}}]
---
apiVersion: {RB}
kind: RoleBinding
metadata: {{name: reader, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects: [{{kind: ServiceAccount, name: api}}]
---
apiVersion: {RB}
kind: Role
metadata: {{name: minter, namespace: shop}}
rules:
- {{apiGroups: [''], resources: [serviceaccounts/token], resourceNames: [api], verbs: [create]}}
- {{apiGroups: [''], resources: [users], verbs: [impersonate]}}
---
apiVersion: {RB}
kind: RoleBinding
metadata: {{name: minter, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: minter}}
subjects: [{{kind: User, name: carol}}]
---
apiVersion: {RB}
kind: Role
metadata: {{name: other-minter, namespace: shop}}
rules: [{{apiGroups: [''], resources: [serviceaccounts/token], resourceNames: [worker], verbs: [create]}}]
---
apiVersion: {RB}
kind: RoleBinding
metadata: {{name: other-minter, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: other-minter}}
subjects: [{{kind: User, name: dave}}]
---
apiVersion: {RB}
kind: ClusterRole
metadata: {{name: group-sudo}}
rules: [{{apiGroups: [''], resources: [groups], verbs: [impersonate]}}]
---
apiVersion: {RB}
kind: ClusterRoleBinding
metadata: {{name: group-sudo}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: group-sudo}}
subjects: [{{kind: User, name: erin}}]
"""


def test_who_can_identity_paths_are_precise():
    from strongroom.rbaclint.model import RbacModel
    from strongroom.rbaclint.whocan import who_can

    rows = {
        (r.subject, r.kind): r.how for r in who_can(RbacModel(load_text(WHO, "w.yaml").objects), "read", "db", "shop")
    }
    assert rows[("ServiceAccount shop/api", "direct")] == "get (resourceNames: db)"
    # carol may mint a token for api (which reads db); her namespaced `impersonate users` grants nothing
    assert rows[("User carol", "indirect")] == "mint token of ServiceAccount shop/api"
    assert ("User dave", "indirect") not in rows  # may only mint tokens for `worker`, who cannot read db
    assert rows[("User erin", "indirect")] == "impersonate Group system:masters"
