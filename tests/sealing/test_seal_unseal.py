"""Secret -> SealedSecret -> Secret, as kubeseal and the controller do it (format notes §3-§5, §10)."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from strongroom import sealing
from strongroom.crypto.hybrid import hybrid_seal
from strongroom.sealing import (
    ANNOTATION_CLUSTER_WIDE,
    ANNOTATION_NAMESPACE_WIDE,
    ANNOTATION_SKIP_OWNER_REFERENCES,
    InvalidObjectError,
    Scope,
    UnsealError,
    seal_secret,
    unseal_sealed_secret,
)

from .conftest import make_secret

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _data(secret):
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def test_shape_is_kubeseals(pair):
    secret = make_secret(password=b"hunter2")
    secret["metadata"].update(labels={"app": "db"}, uid="u-1", resourceVersion="7",
                              creationTimestamp="2024-01-01T00:00:00Z", ownerReferences=[{"name": "x"}],
                              annotations={LAST_APPLIED: '{"data":{"password":"aHVudGVyMg=="}}', "keep": "me"})
    secret["immutable"] = True
    sealed = seal_secret(secret, pair.public)
    assert list(sealed) == ["kind", "apiVersion", "metadata", "spec"]
    assert sealed["apiVersion"] == "bitnami.com/v1alpha1" and sealed["kind"] == "SealedSecret"
    assert sealed["metadata"] == {"name": "db", "namespace": "prod", "creationTimestamp": None}
    template = sealed["spec"]["template"]
    assert template == {"metadata": {"name": "db", "namespace": "prod", "labels": {"app": "db"},
                                     "annotations": {"keep": "me"}, "creationTimestamp": None},
                        "type": "Opaque", "immutable": True}
    assert "aHVudGVyMg" not in json.dumps(sealed) and "hunter2" not in json.dumps(sealed)
    assert base64.b64decode(sealed["spec"]["encryptedData"]["password"])[:2] == b"\x01\x00"
    assert secret["metadata"]["annotations"][LAST_APPLIED]  # input untouched


def test_roundtrip_with_string_data_and_binary(pair):
    secret = make_secret(blob=bytes(range(256)), shared=b"from data")
    secret["stringData"] = {"shared": "from stringData", "text": "héllo"}
    back = unseal_sealed_secret(seal_secret(secret, pair.public), [pair.key])
    assert _data(back) == {"blob": bytes(range(256)), "shared": b"from stringData", "text": "héllo".encode()}
    assert back["metadata"] == {"name": "db", "namespace": "prod"}
    assert back["type"] == "Opaque"


@pytest.mark.parametrize("scope", list(Scope))
def test_scope_flag_rewrites_annotations(pair, scope):
    secret = make_secret()
    secret["metadata"]["annotations"] = {ANNOTATION_CLUSTER_WIDE: "true"}
    sealed = seal_secret(secret, pair.public, scope)
    assert sealing.scope_of(sealed) is scope
    assert sealing.scope_of(sealed["spec"]["template"]) is scope
    if scope is Scope.STRICT:
        assert "annotations" not in sealed["metadata"]


def test_scope_from_input_annotations(pair):
    secret = make_secret()
    secret["metadata"]["annotations"] = {ANNOTATION_NAMESPACE_WIDE: "true"}
    sealed = seal_secret(secret, pair.public)
    assert sealed["metadata"]["annotations"] == {ANNOTATION_NAMESPACE_WIDE: "true"}


def _moved(sealed, name=None, namespace=None):
    other = copy.deepcopy(sealed)
    if name:
        other["metadata"]["name"] = name
    if namespace:
        other["metadata"]["namespace"] = namespace
    return other


@pytest.mark.parametrize(("scope", "rename_ok", "move_ok"), [
    (Scope.STRICT, False, False), (Scope.NAMESPACE_WIDE, True, False), (Scope.CLUSTER_WIDE, True, True)])
def test_rename_and_move(pair, scope, rename_ok, move_ok):
    sealed = seal_secret(make_secret(password=b"pw"), pair.public, scope)
    for obj, ok in ((_moved(sealed, name="renamed"), rename_ok), (_moved(sealed, namespace="elsewhere"), move_ok)):
        if ok:
            back = unseal_sealed_secret(obj, [pair.key])
            assert _data(back) == {"password": b"pw"}
            assert back["metadata"]["name"] == obj["metadata"]["name"]  # forced to the SealedSecret's
            assert back["metadata"]["namespace"] == obj["metadata"]["namespace"]
        else:
            with pytest.raises(UnsealError) as info:
                unseal_sealed_secret(obj, [pair.key])
            assert info.value.items == ("password",)


def test_dropping_the_scope_annotation_fails(pair):
    sealed = seal_secret(make_secret(), pair.public, Scope.CLUSTER_WIDE)
    del sealed["metadata"]["annotations"]
    with pytest.raises(UnsealError):
        unseal_sealed_secret(sealed, [pair.key])


def test_tampered_item_reported_by_name_without_values(pair):
    sealed = seal_secret(make_secret(good=b"g00d-value", bad=b"s3cret-value"), pair.public)
    raw = bytearray(base64.b64decode(sealed["spec"]["encryptedData"]["bad"]))
    raw[-1] ^= 1
    sealed["spec"]["encryptedData"]["bad"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(UnsealError) as info:
        unseal_sealed_secret(sealed, [pair.key])
    assert info.value.items == ("bad",)
    assert "s3cret" not in str(info.value) and "g00d" not in str(info.value)


def test_keys_tried_newest_first_and_old_keys_still_work(pair, other_pair):
    sealed = seal_secret(make_secret(), pair.public)
    assert _data(unseal_sealed_secret(sealed, [other_pair.key, pair.key])) == {"password": b"hunter2"}


def test_base64_like_go(pair):
    sealed = seal_secret(make_secret(), pair.public)
    text = sealed["spec"]["encryptedData"]["password"]
    wrapped = "\r\n".join(text[i:i + 60] for i in range(0, len(text), 60))
    sealed["spec"]["encryptedData"]["password"] = wrapped
    assert _data(unseal_sealed_secret(sealed, [pair.key])) == {"password": b"hunter2"}
    for bad in (text.rstrip("="), text.replace("+", "-").replace("/", "_"), text[:10] + " " + text[10:]):
        if bad == text:
            continue
        sealed["spec"]["encryptedData"]["password"] = bad
        with pytest.raises(UnsealError):
            unseal_sealed_secret(sealed, [pair.key])


def test_template_data_and_owner_reference(pair):
    sealed = seal_secret(make_secret(user=b"admin", password=b"pw"), pair.public)
    sealed["metadata"]["uid"] = "1234"
    sealed["spec"]["template"]["data"] = {"dsn": "postgres://{{ .user }}:{{ .password }}@db/app",
                                          "password": "{{ .password | upper }}"}
    back = unseal_sealed_secret(sealed, [pair.key])
    assert _data(back) == {"user": b"admin", "password": b"PW", "dsn": b"postgres://admin:pw@db/app"}
    assert back["metadata"]["ownerReferences"] == [
        {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": "db", "uid": "1234",
         "controller": True}]
    sealed["spec"]["template"]["metadata"]["annotations"] = {ANNOTATION_SKIP_OWNER_REFERENCES: "true"}
    assert "ownerReferences" not in unseal_sealed_secret(sealed, [pair.key])["metadata"]


def test_deprecated_v1_data(pair):
    inner = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "y"},
             "data": {"k": base64.b64encode(b"v").decode()}}
    blob = base64.b64encode(hybrid_seal(pair.key.public_key(), json.dumps(inner).encode(), b"prod/db")).decode()
    sealed = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
              "metadata": {"name": "db", "namespace": "prod"}, "spec": {"data": blob}}
    back = unseal_sealed_secret(sealed, [pair.key])
    assert back["metadata"]["name"] == "db" and back["data"] == {"k": "dg=="}
    with pytest.raises(InvalidObjectError):
        unseal_sealed_secret(sealed, [pair.key], accept_v1_data=False)
    sealed["spec"]["encryptedData"] = {"k": blob}
    with pytest.raises(InvalidObjectError, match="both"):
        unseal_sealed_secret(sealed, [pair.key])


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda s: s.update(kind="ConfigMap"), "expected a v1 Secret"),
    (lambda s: s.update(data={}), "no data"),
    (lambda s: s["data"].update(password="not base64!"), "data.password is not valid base64"),
    (lambda s: s.update(stringData={"port": 5432}), "stringData.port must be a string"),
    (lambda s: s["metadata"].pop("name"), "no metadata.name"),
    (lambda s: s["metadata"].update(labels={"tier": 1}), "metadata.labels.tier must be a string"),
    (lambda s: s["metadata"].update(annotations=["x"]), "metadata.annotations is not a mapping"),
])
def test_bad_secrets(pair, mutate, message):
    secret = make_secret()
    mutate(secret)
    with pytest.raises(InvalidObjectError, match=message):
        seal_secret(secret, pair.public)


def test_namespace_rules(pair):
    assert seal_secret(make_secret(namespace=None), pair.public)["metadata"]["namespace"] == "default"
    assert seal_secret(make_secret(namespace=None), pair.public, namespace="x")["metadata"]["namespace"] == "x"
    assert seal_secret(make_secret(), pair.public, namespace="prod")["metadata"]["namespace"] == "prod"
    with pytest.raises(InvalidObjectError, match="namespace mismatch"):
        seal_secret(make_secret(), pair.public, namespace="other")
    with pytest.raises(InvalidObjectError, match="must declare a namespace"):
        seal_secret(make_secret(namespace=None), pair.public, default_namespace="")
    cw = seal_secret(make_secret(namespace=None), pair.public, Scope.CLUSTER_WIDE, default_namespace="")
    assert "namespace" not in cw["metadata"]
    assert seal_secret(make_secret(), pair.public, name="renamed")["metadata"]["name"] == "renamed"


def test_empty_data_allowed_on_request(pair):
    secret = make_secret()
    secret["data"] = {}
    sealed = seal_secret(secret, pair.public, allow_empty_data=True)
    assert sealed["spec"]["encryptedData"] == {}
    assert unseal_sealed_secret(sealed, [pair.key])["data"] == {}


def test_merge_into_keeps_other_items(pair):
    existing = seal_secret(make_secret(a=b"1", b=b"2"), pair.public)
    update = seal_secret(make_secret(b=b"22", c=b"3"), pair.public)
    update["spec"]["template"]["metadata"]["labels"] = {"new": "label"}
    merged = sealing.merge_into(existing, update)
    assert merged["spec"]["encryptedData"]["a"] == existing["spec"]["encryptedData"]["a"]
    assert _data(unseal_sealed_secret(merged, [pair.key])) == {"a": b"1", "b": b"22", "c": b"3"}
    assert merged["spec"]["template"]["metadata"]["labels"] == {"new": "label"}


def test_raw_values(pair):
    raw = sealing.seal_value(pair.public, Scope.NAMESPACE_WIDE, "ns", "ignored", b"v")
    assert sealing.unseal_value([pair.key], Scope.NAMESPACE_WIDE, "ns", "other", raw) == b"v"
    with pytest.raises(UnsealError):
        sealing.unseal_value([pair.key], Scope.NAMESPACE_WIDE, "ns2", "other", raw)


def test_reseal_keeps_scope_and_moves_to_the_new_key(pair, other_pair):
    sealed = seal_secret(make_secret(a=b"1"), pair.public, Scope.NAMESPACE_WIDE)
    sealed["metadata"]["uid"] = "abc"
    sealed["spec"]["template"]["data"] = {"t": "{{ .a }}!"}
    rotated = sealing.reseal_sealed_secret(sealed, [other_pair.key, pair.key], other_pair.public)
    assert sealing.scope_of(rotated) is Scope.NAMESPACE_WIDE
    assert _data(unseal_sealed_secret(rotated, [other_pair.key])) == {"a": b"1", "t": b"1!"}
    assert "ownerReferences" not in rotated["spec"]["template"]["metadata"]
    with pytest.raises(UnsealError):
        unseal_sealed_secret(rotated, [pair.key])


def test_items_sealed_with_different_keys_in_one_object(pair, other_pair, pair4096):
    a = seal_secret(make_secret(a=b"1"), pair.public)
    b = seal_secret(make_secret(b=b"2"), other_pair.public)
    a["spec"]["encryptedData"].update(b["spec"]["encryptedData"])
    keys = [pair4096.key, other_pair.key, pair.key]
    assert _data(unseal_sealed_secret(a, keys)) == {"a": b"1", "b": b"2"}
    assert keys == [pair4096.key, other_pair.key, pair.key]  # the caller's list is not reordered
