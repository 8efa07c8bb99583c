"""Compatibility with PyPI `kubesealpy` (an independent implementation), in both directions."""

from __future__ import annotations

import base64
import copy
import os

import pytest
from kubesealpy import DecryptionError as PeerDecryptionError
from kubesealpy import NoMatchingKeyError, Sealer, SealingScope, Unsealer
from kubesealpy import SealedSecret as PeerSealedSecret
from kubesealpy import Secret as PeerSecret

from strongroom import sealing
from strongroom.sealing import Scope, UnsealError, seal_secret, unseal_sealed_secret

from .conftest import make_secret

PEER_SCOPE = {Scope.STRICT: SealingScope.STRICT, Scope.NAMESPACE_WIDE: SealingScope.NAMESPACE_WIDE,
              Scope.CLUSTER_WIDE: SealingScope.CLUSTER_WIDE}
PEER_FAILS = (PeerDecryptionError, NoMatchingKeyError)
MIB = 1024 * 1024


def _values() -> dict[str, bytes]:
    return {"text": "héllo wörld".encode(), "binary": bytes(range(256)) * 4, "empty": b"",
            "big": os.urandom(MIB)}


def _peer_sealed(pair, scope, values, name="db", namespace="prod") -> dict:
    sealed = Sealer.from_certificate_pem(pair.cert_pem).seal(name=name, namespace=namespace, data=values,
                                                              scope=PEER_SCOPE[scope])
    return sealed.model_dump(by_alias=True, exclude_none=True)


def _peer_unseal(pair, sealed: dict) -> dict[str, bytes]:
    secret = Unsealer([pair.key]).unseal(PeerSealedSecret.model_validate(sealed))
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def _ours(secret: dict) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


@pytest.mark.parametrize("scope", list(Scope))
def test_they_seal_we_unseal(pair, scope):
    values = _values()
    assert _ours(unseal_sealed_secret(_peer_sealed(pair, scope, values), [pair.key])) == values


@pytest.mark.parametrize("scope", list(Scope))
def test_we_seal_they_unseal(pair, scope):
    values = _values()
    assert _peer_unseal(pair, seal_secret(make_secret(**values), pair.public, scope)) == values


def test_4096_bit_keys_both_ways(pair4096):
    values = {"k": b"v" * 100}
    assert _ours(unseal_sealed_secret(_peer_sealed(pair4096, Scope.STRICT, values), [pair4096.key])) == values
    assert _peer_unseal(pair4096, seal_secret(make_secret(**values), pair4096.public)) == values


def test_peer_secret_model_seals_like_ours(pair):
    peer_secret = PeerSecret.from_string_data("db", "prod", {"a": "1"})
    sealed = Sealer.from_certificate_pem(pair.cert_pem).seal_secret(peer_secret)
    assert _ours(unseal_sealed_secret(sealed.model_dump(by_alias=True, exclude_none=True), [pair.key])) == {
        "a": b"1"}


def _flip(sealed: dict, item: str, index: int) -> dict:
    out = copy.deepcopy(sealed)
    raw = bytearray(base64.b64decode(out["spec"]["encryptedData"][item]))
    raw[index] ^= 0x80
    out["spec"]["encryptedData"][item] = base64.b64encode(bytes(raw)).decode()
    return out


@pytest.mark.parametrize("index", [0, 1, 5, 259, -1])  # prefix, RSA block, body, tag
def test_tampered_fails_both_ways(pair, index):
    theirs = _flip(_peer_sealed(pair, Scope.STRICT, {"k": b"value"}), "k", index)
    with pytest.raises(UnsealError):
        unseal_sealed_secret(theirs, [pair.key])
    ours = _flip(seal_secret(make_secret(k=b"value"), pair.public), "k", index)
    with pytest.raises(PEER_FAILS):
        _peer_unseal(pair, ours)


def _relocate(sealed: dict, *, name=None, namespace=None, annotations=None) -> dict:
    out = copy.deepcopy(sealed)
    if name:
        out["metadata"]["name"] = name
    if namespace:
        out["metadata"]["namespace"] = namespace
    if annotations is not None:
        out["metadata"]["annotations"] = annotations
    return out


@pytest.mark.parametrize(("scope", "change"), [
    (Scope.STRICT, {"name": "renamed"}),
    (Scope.STRICT, {"namespace": "moved"}),
    (Scope.NAMESPACE_WIDE, {"namespace": "moved"}),
    (Scope.STRICT, {"annotations": {sealing.ANNOTATION_CLUSTER_WIDE: "true"}}),
    (Scope.CLUSTER_WIDE, {"annotations": {}}),
    (Scope.NAMESPACE_WIDE, {"annotations": {sealing.ANNOTATION_CLUSTER_WIDE: "true"}}),
])
def test_wrong_scope_renamed_or_moved_fails_both_ways(pair, scope, change):
    theirs = _relocate(_peer_sealed(pair, scope, {"k": b"v"}), **change)
    with pytest.raises(UnsealError):
        unseal_sealed_secret(theirs, [pair.key])
    ours = _relocate(seal_secret(make_secret(k=b"v"), pair.public, scope), **change)
    with pytest.raises(PEER_FAILS):
        _peer_unseal(pair, ours)


def test_wrong_key_fails_both_ways(pair, other_pair):
    with pytest.raises(UnsealError):
        unseal_sealed_secret(_peer_sealed(pair, Scope.STRICT, {"k": b"v"}), [other_pair.key])
    with pytest.raises(PEER_FAILS):
        _peer_unseal(other_pair, seal_secret(make_secret(k=b"v"), pair.public))


@pytest.mark.parametrize("scope", list(Scope))
def test_raw_values_both_ways(pair, scope):
    value = os.urandom(MIB)
    theirs = base64.b64encode(Sealer.from_certificate_pem(pair.cert_pem).seal_value(
        value, "ns", "name", PEER_SCOPE[scope])).decode()
    assert sealing.unseal_value([pair.key], scope, "ns", "name", theirs) == value
    ours = sealing.seal_value(pair.public, scope, "ns", "name", value)
    assert Unsealer([pair.key]).unseal_value(base64.b64decode(ours), "ns", "name", PEER_SCOPE[scope]) == value


def test_known_disagreement_case_of_true(pair):
    """kubesealpy reads "True" as cluster-wide; upstream (and we) read it as strict: we follow upstream."""
    sealed = _peer_sealed(pair, Scope.CLUSTER_WIDE, {"k": b"v"})
    sealed["metadata"]["annotations"] = {sealing.ANNOTATION_CLUSTER_WIDE: "True"}
    assert _peer_unseal(pair, sealed) == {"k": b"v"}
    with pytest.raises(UnsealError):
        unseal_sealed_secret(sealed, [pair.key])
