"""The committed vectors in tests/vectors/sealing/ (sealed once by kubesealpy) must keep opening here."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from strongroom import sealing
from strongroom.sealing import Scope, UnsealError

VECTOR_DIR = Path(__file__).parents[1] / "vectors" / "sealing"
FILES = sorted(VECTOR_DIR.glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_vectors_exist():
    assert {p.name for p in FILES} >= {"kubesealpy-2048.json", "kubesealpy-4096.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sealed_secret_vectors(path):
    vec = _load(path)
    keys = sealing.load_private_keys(vec["private_key_pem"].encode())
    public = sealing.load_recipient(vec["certificate_pem"].encode())
    assert public.public_numbers() == keys[0].public_key().public_numbers()
    rsa_len = vec["key_bits"] // 8
    for case in vec["sealed_secrets"]:
        sealed = case["sealed_secret"]
        assert sealing.scope_of(sealed) is Scope(case["scope"])
        for blob in sealed["spec"]["encryptedData"].values():
            assert int.from_bytes(base64.b64decode(blob)[:2], "big") == rsa_len
        secret = sealing.unseal_sealed_secret(sealed, keys)
        assert secret["data"] == case["plaintext_b64"], case["description"]
        assert secret["metadata"]["labels"] == {"app": "db"}
        assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == ("db-credentials", "prod")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sealed_secret_vectors_bind_their_scope(path):
    vec = _load(path)
    keys = sealing.load_private_keys(vec["private_key_pem"].encode())
    expect_ok = {"strict": (False, False), "namespace-wide": (True, False), "cluster-wide": (True, True)}
    for case in vec["sealed_secrets"]:
        renamed = copy.deepcopy(case["sealed_secret"])
        renamed["metadata"]["name"] = "other"
        moved = copy.deepcopy(case["sealed_secret"])
        moved["metadata"]["namespace"] = "other"
        for obj, ok in zip((renamed, moved), expect_ok[case["scope"]], strict=True):
            if ok:
                assert sealing.unseal_sealed_secret(obj, keys)["data"] == case["plaintext_b64"]
            else:
                with pytest.raises(UnsealError):
                    sealing.unseal_sealed_secret(obj, keys)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_raw_vectors(path):
    vec = _load(path)
    keys = sealing.load_private_keys(vec["private_key_pem"].encode())
    for case in vec["raw_values"]:
        value = sealing.unseal_value(keys, Scope(case["scope"]), case["namespace"], case["name"],
                                     case["sealed_b64"])
        assert base64.b64encode(value).decode() == case["plaintext_b64"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_vectors_open_in_kubesealpy_too(path):
    """Cross-check: the vectors are valid for the independent implementation as well."""
    from kubesealpy import SealedSecret, Unsealer

    vec = _load(path)
    keys = sealing.load_private_keys(vec["private_key_pem"].encode())
    for case in vec["sealed_secrets"]:
        secret = Unsealer(keys).unseal(SealedSecret.model_validate(case["sealed_secret"]))
        assert secret.data == case["plaintext_b64"]
