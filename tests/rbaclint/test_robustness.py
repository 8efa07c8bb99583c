"""Malformed objects (wrong types anywhere) never crash the checks, who-can or unused."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.rbaclint.base import Context
from strongroom.rbaclint.checks import CHECKS
from strongroom.rbaclint.engine import lint
from strongroom.rbaclint.loader import objects_from_dicts
from strongroom.rbaclint.model import RbacModel
from strongroom.rbaclint.unused import find_unused
from strongroom.rbaclint.whocan import who_can

KINDS = [("rbac.authorization.k8s.io/v1", k) for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")] + [
    ("v1", "Pod"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "Namespace"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("audit.k8s.io/v1", "Policy"),
    ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"),
    ("bitnami.com/v1alpha1", "SealedSecret"),
]
KEYS = [
    "rules",
    "subjects",
    "roleRef",
    "spec",
    "template",
    "containers",
    "volumes",
    "env",
    "envFrom",
    "data",
    "stringData",
    "resources",
    "providers",
    "keys",
    "secret",
    "level",
    "verbs",
    "apiGroups",
    "resourceNames",
    "aggregationRule",
    "clusterRoleSelectors",
    "matchLabels",
    "kind",
    "name",
    "namespace",
    "valueFrom",
    "secretKeyRef",
    "hostPath",
    "path",
    "defaultMode",
    "items",
    "mode",
    "projected",
    "sources",
    "jobTemplate",
    "automountServiceAccountToken",
    "serviceAccountName",
    "metadata",
    "annotations",
    "labels",
    "type",
]

junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5000),
        st.sampled_from(["", "*", "secrets", "get", "x"]),
        st.text(max_size=5),
    ),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(KEYS), kids, max_size=4)),
    max_leaves=25,
)


@st.composite
def objects(draw):
    api, kind = draw(st.sampled_from(KINDS))
    doc = draw(st.dictionaries(st.sampled_from(KEYS), junk, max_size=6))
    doc.update({"apiVersion": api, "kind": kind})
    if draw(st.booleans()):
        doc["metadata"] = {
            "name": "n",
            "namespace": "a",
            "annotations": draw(st.one_of(junk, st.just({"strongroom.io/lint-ignore": "x:"}))),
        }
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(objects(), min_size=1, max_size=6))
def test_junk_never_crashes(docs):
    objs = list(objects_from_dicts(docs, "junk.yaml"))
    report = lint(objs, CHECKS)
    for f in report.findings:
        assert f.rule_id and f.message
    who_can(RbacModel(objs), "read", "x", "a")
    find_unused(Context(objs))
