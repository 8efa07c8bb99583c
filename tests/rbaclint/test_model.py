"""RBAC matching semantics: wildcards, subresources, resourceNames, aggregation, built-in roles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strongroom.rbaclint.loader import load_text
from strongroom.rbaclint.model import PolicyRule, RbacModel


def _rule(verbs, groups, resources, names=()):
    return PolicyRule(frozenset(verbs), frozenset(groups), frozenset(resources), frozenset(names))


def test_wildcards_and_subresources():
    assert _rule(["*"], ["*"], ["*"]).matches("get", "", "pods/exec")
    assert _rule(["get"], [""], ["*/exec"]).matches("get", "", "pods/exec")
    assert not _rule(["get"], [""], ["pods"]).matches("get", "", "pods/exec")
    assert not _rule(["get"], ["apps"], ["secrets"]).matches("get", "", "secrets")
    assert not _rule(["get"], [""], ["secrets"]).matches("list", "", "secrets")


def test_resource_names_narrow():
    rule = _rule(["get"], [""], ["secrets"], ["db"])
    assert rule.matches("get", "", "secrets", "db")
    assert not rule.matches("get", "", "secrets", "other")
    assert not rule.matches("get", "", "secrets", None)  # "all secrets" is not granted


@given(
    st.sampled_from(["get", "list", "watch", "create", "delete"]),
    st.sampled_from(["", "apps", "batch"]),
    st.sampled_from(["secrets", "pods", "pods/exec", "deployments"]),
)
def test_star_rule_matches_everything(verb, group, resource):
    assert _rule(["*"], ["*"], ["*"]).matches(verb, group, resource, "x")


AGG = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-reader: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: secrets-part
  labels: {example.com/aggregate-to-reader: "true"}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: unrelated
  labels: {example.com/aggregate-to-writer: "true"}
rules:
- {apiGroups: [""], resources: [pods], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: r, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: e, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: ci}]
"""


def test_aggregation_and_namespace_scope():
    model = RbacModel(load_text(AGG, "agg.yaml").objects)
    grants = list(model.grants("get", "", "secrets", "shop", "db"))
    subjects = {str(g.subject) for g in grants}
    assert subjects == {"User alice", "ServiceAccount shop/ci"}
    alice = next(g for g in grants if str(g.subject) == "User alice")
    assert alice.origin.name == "secrets-part" and alice.role.name == "reader"
    assert not list(model.grants("get", "", "secrets", "other", "db"))  # RoleBinding is namespace-bound
    assert not [g for g in model.grants("create", "", "pods", "shop") if str(g.subject) == "User alice"]


def test_builtin_edit_is_understood():
    model = RbacModel(load_text(AGG, "agg.yaml").objects)
    assert any(str(g.subject) == "ServiceAccount shop/ci" for g in model.grants("create", "", "pods/exec", "shop"))
