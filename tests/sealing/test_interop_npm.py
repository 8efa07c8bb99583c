"""Compatibility with npm `@socialgouv/aes-gcm-rsa-oaep` (an independent JavaScript implementation).

The peer seals and opens text only (it UTF-8-decodes what it decrypts), so binary values are tested against
kubesealpy instead; here the values are text, up to 1 MiB.
"""

from __future__ import annotations

import base64
import secrets

import pytest

from strongroom import sealing
from strongroom.sealing import Scope, UnsealError, unseal_sealed_secret

PEER_SCOPE = {Scope.STRICT: "strict", Scope.NAMESPACE_WIDE: "namespace", Scope.CLUSTER_WIDE: "cluster"}
MIB_TEXT = secrets.token_urlsafe(786432)[: 1024 * 1024]
VALUES = {"text": "héllo wörld ✓", "empty": "", "big": MIB_TEXT}


def _op(pair, scope, name="db", namespace="prod", **extra):
    return {"cert": pair.cert_pem.decode(), "scope": PEER_SCOPE[scope], "namespace": namespace, "name": name,
            **extra}


def _ours(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


@pytest.mark.parametrize("scope", list(Scope))
def test_they_seal_we_unseal(pair, node_peer, scope):
    [sealed, raw] = node_peer([_op(pair, scope, op="sealedSecret", values=VALUES),
                               _op(pair, scope, op="encryptValue", value="raw välue")])
    assert sealed["ok"] and raw["ok"]
    assert _ours(unseal_sealed_secret(sealed["value"], [pair.key])) == VALUES
    assert sealing.unseal_value([pair.key], scope, "prod", "db", raw["value"]) == "raw välue".encode()


@pytest.mark.parametrize("scope", list(Scope))
def test_we_seal_they_unseal(pair, node_peer, scope):
    ops = []
    for value in VALUES.values():
        ct = sealing.seal_value(pair.public, scope, "prod", "db", value.encode())
        ops.append(_op(pair, scope, op="decrypt", privateKey=pair.pkcs8_pem.decode(), ciphertext=ct))
    results = node_peer(ops)
    assert [r["value"] for r in results] == list(VALUES.values())


def test_wrong_scope_name_namespace_key_and_tampering_fail_in_the_peer(pair, other_pair, node_peer):
    ct = sealing.seal_value(pair.public, Scope.STRICT, "prod", "db", b"value")
    raw = bytearray(base64.b64decode(ct))
    raw[-3] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    key = pair.pkcs8_pem.decode()
    ops = [
        _op(pair, Scope.STRICT, name="renamed", op="decrypt", privateKey=key, ciphertext=ct),
        _op(pair, Scope.STRICT, namespace="moved", op="decrypt", privateKey=key, ciphertext=ct),
        _op(pair, Scope.CLUSTER_WIDE, op="decrypt", privateKey=key, ciphertext=ct),
        _op(pair, Scope.STRICT, op="decrypt", privateKey=other_pair.pkcs8_pem.decode(), ciphertext=ct),
        _op(pair, Scope.STRICT, op="decrypt", privateKey=key, ciphertext=tampered),
        _op(pair, Scope.STRICT, op="decrypt", privateKey=key, ciphertext=ct),  # control
    ]
    results = node_peer(ops)
    assert [r["ok"] for r in results] == [False, False, False, False, False, True]


def test_their_output_fails_here_when_moved_or_tampered(pair, node_peer):
    [sealed] = node_peer([_op(pair, Scope.NAMESPACE_WIDE, op="sealedSecret", values={"k": "v"})])
    obj = sealed["value"]
    obj["metadata"]["name"] = "renamed-is-fine"
    assert _ours(unseal_sealed_secret(obj, [pair.key])) == {"k": "v"}
    obj["metadata"]["namespace"] = "moved"
    with pytest.raises(UnsealError):
        unseal_sealed_secret(obj, [pair.key])
    obj["metadata"]["namespace"] = "prod"
    raw = bytearray(base64.b64decode(obj["spec"]["encryptedData"]["k"]))
    raw[10] ^= 1
    obj["spec"]["encryptedData"]["k"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(UnsealError):
        unseal_sealed_secret(obj, [pair.key])
