"""Scopes, OAEP labels and annotations, as upstream's EncryptionLabel / SecretScope."""

from __future__ import annotations

import pytest

from strongroom.sealing import (
    ANNOTATION_CLUSTER_WIDE,
    ANNOTATION_NAMESPACE_WIDE,
    InvalidObjectError,
    Scope,
    label_for,
    scope_from_annotations,
    scope_of,
    with_scope_annotations,
)


@pytest.mark.parametrize(("scope", "label"), [
    (Scope.STRICT, b"myns/myname"), (Scope.NAMESPACE_WIDE, b"myns"), (Scope.CLUSTER_WIDE, b"")])
def test_labels(scope, label):
    assert label_for(scope, "myns", "myname") == label


def test_label_needs_namespace_and_name():
    with pytest.raises(InvalidObjectError):
        label_for(Scope.STRICT, "", "n")
    with pytest.raises(InvalidObjectError):
        label_for(Scope.STRICT, "ns", None)
    with pytest.raises(InvalidObjectError):
        label_for(Scope.NAMESPACE_WIDE, None, None)
    assert label_for(Scope.CLUSTER_WIDE, None, None) == b""


@pytest.mark.parametrize(("annotations", "scope"), [
    (None, Scope.STRICT),
    ({}, Scope.STRICT),
    ({ANNOTATION_NAMESPACE_WIDE: "true"}, Scope.NAMESPACE_WIDE),
    ({ANNOTATION_CLUSTER_WIDE: "true"}, Scope.CLUSTER_WIDE),
    ({ANNOTATION_CLUSTER_WIDE: "true", ANNOTATION_NAMESPACE_WIDE: "true"}, Scope.CLUSTER_WIDE),
    ({ANNOTATION_CLUSTER_WIDE: "True"}, Scope.STRICT),  # case-sensitive, unlike kubesealpy
    ({ANNOTATION_NAMESPACE_WIDE: "yes"}, Scope.STRICT),
])
def test_scope_from_annotations(annotations, scope):
    assert scope_from_annotations(annotations) is scope
    assert scope_of({"metadata": {"annotations": annotations}}) is scope


def test_with_scope_annotations_replaces_both():
    base = {ANNOTATION_CLUSTER_WIDE: "true", "other": "x"}
    assert with_scope_annotations(base, Scope.STRICT) == {"other": "x"}
    assert with_scope_annotations(base, Scope.NAMESPACE_WIDE) == {"other": "x", ANNOTATION_NAMESPACE_WIDE: "true"}
    assert base == {ANNOTATION_CLUSTER_WIDE: "true", "other": "x"}
