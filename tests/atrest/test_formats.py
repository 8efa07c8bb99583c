"""Every provider's exact etcd layout, checked against the stored vectors and decoders we did not write."""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

import nacl.secret
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.atrest import formats, k8sproto
from strongroom.atrest.config import Key, Provider
from strongroom.crypto import DecryptionError, FormatError

VECTORS = orjson.loads((Path(__file__).resolve().parents[1] / "vectors" / "atrest" / "formats.json").read_bytes())
NODE = shutil.which("node")

NODE_GCM = """
const c = require('crypto');
const [key, nonce, ct, aad, seed] = process.argv.slice(1).map(x => Buffer.from(x, 'base64'));
let k = key, data = ct, n = nonce;
if (seed.length) {  // KMS v2 seed mode: DEK = HKDF-Expand(SHA-256, seed, info)[:32] = HMAC(seed, info|0x01)
  const info = ct.subarray(0, 32);
  k = c.createHmac('sha256', seed).update(Buffer.concat([info, Buffer.from([1])])).digest();
  n = ct.subarray(32, 44); data = ct.subarray(44);
}
const d = c.createDecipheriv('aes-' + k.length * 8 + '-gcm', k, n);
d.setAAD(aad); d.setAuthTag(data.subarray(data.length - 16));
process.stdout.write(Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString('base64'));
"""


def _b(x: str) -> bytes:
    return base64.b64decode(x)


def _node_gcm(key: bytes, nonce: bytes, ct: bytes, aad: bytes, seed: bytes = b"") -> bytes:
    args = [base64.b64encode(x).decode() for x in (key, nonce, ct, aad, seed)]
    out = subprocess.run([NODE, "-e", NODE_GCM, *args], capture_output=True, text=True, check=True)
    return base64.b64decode(out.stdout)


def _openssl_cbc(key: bytes, payload: bytes) -> bytes:
    out = subprocess.run(
        ["openssl", "enc", "-d", "-aes-256-cbc", "-K", key.hex(), "-iv", payload[:16].hex()],
        input=payload[16:],
        capture_output=True,
        check=True,
    )
    return out.stdout


def independent_open(provider: str, secret: bytes, value: bytes, etcd_key: bytes, seed: bytes = b"") -> bytes:
    payload = formats.parse(value).payload
    if provider == "aescbc":
        return _openssl_cbc(secret, payload)
    if provider == "secretbox":
        return nacl.secret.SecretBox(secret).decrypt(payload[24:], payload[:24])
    if provider == "aesgcm":
        return _node_gcm(secret, payload[:12], payload[12:], etcd_key)
    # protoc's own parser reads the EncryptedObject: field 1 encryptedData, 2 keyID, 3 encryptedDEKSource, 5 type
    raw = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--decode_raw"], input=payload, capture_output=True, check=True
    ).stdout.decode()
    assert '2: "sr1:keyring/vec:v1"' in raw and "5: 1" in raw
    data = formats.decode_kms_v2(payload).encryptedData
    return _node_gcm(b"", b"", data, etcd_key, seed)


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: f"{v['provider']}-{v['keyName']}")
def test_vectors_open_with_our_decoder(vec: dict[str, str]) -> None:
    value, etcd_key = _b(vec["value"]), vec["etcdKey"].encode()
    assert value.startswith(f"k8s:enc:{vec['provider']}:".encode())
    if vec["provider"] == "kms":
        assert value.startswith(b"k8s:enc:kms:v2:vault-kms:")
        stored = formats.parse(value)
        assert stored.key_id == vec["keyID"]

        def kms(ct: bytes, key_id: str, ann: dict[str, bytes]) -> bytes:
            assert ct == _b(vec["encryptedSeed"]) and key_id == vec["keyID"]
            return _b(vec["seed"])

        assert formats.open_kms_v2(stored.payload, etcd_key, kms) == _b(vec["plaintext"])
        return
    prov = Provider(vec["provider"], [Key(vec["keyName"], _b(vec["secret"]))])
    plain, stored = formats.open_value([prov], value, etcd_key)
    assert plain == _b(vec["plaintext"]) and stored.name == vec["keyName"]


@pytest.mark.skipif(NODE is None, reason="node is needed as the independent AES-GCM implementation")
@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: f"{v['provider']}-{v['keyName']}")
def test_vectors_open_with_independent_decoders(vec: dict[str, str]) -> None:
    got = independent_open(
        vec["provider"], _b(vec.get("secret", "")), _b(vec["value"]), vec["etcdKey"].encode(), _b(vec.get("seed", ""))
    )
    assert got == _b(vec["plaintext"])


@pytest.mark.skipif(NODE is None, reason="node is needed as the independent AES-GCM implementation")
@pytest.mark.parametrize("provider", ["aesgcm", "aescbc", "secretbox"])
def test_fresh_values_open_with_independent_decoders(provider: str) -> None:
    key = Key("k", bytes(range(32)))
    value = formats.seal_local(provider, key, b"fresh plaintext", b"/registry/secrets/a/b")
    assert independent_open(provider, key.secret, value, b"/registry/secrets/a/b") == b"fresh plaintext"


def test_aesgcm_binds_the_etcd_key() -> None:
    key = Key("k", bytes(32))
    value = formats.seal_local("aesgcm", key, b"x", b"/registry/secrets/a/one")
    with pytest.raises(DecryptionError):
        formats.open_value([Provider("aesgcm", [key])], value, b"/registry/secrets/a/two")


@pytest.mark.parametrize(
    "value",
    [
        b"k8s:enc:aesgcm:v1:",  # truncated prefix
        b"k8s:enc:rot13:v1:k:abc",  # unknown provider
        b"k8s:enc:kms:v2:p:\xff\xff\xff",  # not protobuf
        b"k8s:enc:kms:v2:p:",  # empty EncryptedObject
    ],
)
def test_malformed_values_raise_format_error(value: bytes) -> None:
    with pytest.raises(FormatError):
        formats.parse(value)


def test_short_or_tampered_payloads_raise() -> None:
    key = Key("k", bytes(32))
    for provider in ("aesgcm", "aescbc", "secretbox"):
        with pytest.raises((FormatError, DecryptionError)):
            formats.open_value([Provider(provider, [key])], formats.prefix(provider, "k") + b"short", b"/k")
    value = bytearray(formats.seal_local("secretbox", key, b"data", b"/k"))
    value[-1] ^= 1
    with pytest.raises(DecryptionError):
        formats.open_value([Provider("secretbox", [key])], bytes(value), b"/k")


def test_missing_key_names_the_key_not_the_secret() -> None:
    value = formats.seal_local("aescbc", Key("old", bytes(32)), b"x", b"/k")
    with pytest.raises(DecryptionError, match="no aescbc key named 'old'"):
        formats.open_value([Provider("aescbc", [Key("new", bytes([1]) * 32)])], value, b"/k")


@settings(max_examples=40, deadline=None)
@given(
    provider=st.sampled_from(["aesgcm", "aescbc", "secretbox"]),
    plain=st.binary(max_size=300),
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20),
)
def test_roundtrip_property(provider: str, plain: bytes, name: str) -> None:
    key = Key(name, bytes(range(32)))
    value = formats.seal_local(provider, key, plain, b"/registry/secrets/x/y")
    got, stored = formats.open_value([Provider(provider, [key])], value, b"/registry/secrets/x/y")
    assert got == plain and stored.name == name


def test_k8s_protobuf_secret_decodes() -> None:
    obj = k8sproto.decode_object(k8sproto.encode_secret("db", "prod", {"password": b"pw", "user": b"u"}))
    assert obj["kind"] == "Secret" and obj["metadata"] == {"name": "db", "namespace": "prod"}
    assert base64.b64decode(obj["data"]["password"]) == b"pw"


@settings(max_examples=200, deadline=None)
@given(
    junk=st.binary(max_size=200),
    prefix=st.sampled_from([b"", b"k8s:enc:", b"k8s:enc:kms:v2:p:", b"k8s:enc:aesgcm:v1:k:", b"k8s\x00"]),
)
def test_garbage_never_crashes_the_readers(junk: bytes, prefix: bytes) -> None:
    """Bad input gets our typed errors, never an IndexError or a protobuf exception."""
    value = prefix + junk
    try:
        stored = formats.parse(value)
        formats.open_value([Provider("aesgcm", [Key("k", bytes(32))])], value, b"/k")
    except (FormatError, DecryptionError):
        return
    if stored.provider == "identity":
        with contextlib.suppress(k8sproto.ProtoError):
            k8sproto.decode_object(value)


@pytest.mark.parametrize(
    "key, want",
    [
        (b"/registry/secrets/prod/db", ("", "secrets", "prod", "db")),
        (b"/registry/namespaces/prod", ("", "namespaces", "", "prod")),
        (b"/registry/services/specs/prod/web", ("", "services", "prod", "web")),
        (b"/registry/minions/node-1", ("", "nodes", "", "node-1")),
        (b"/registry/deployments/prod/web", ("apps", "deployments", "prod", "web")),
        (b"/registry/clusterroles/admin", ("rbac.authorization.k8s.io", "clusterroles", "", "admin")),
        (b"/registry/bitnami.com/sealedsecrets/prod/s", ("bitnami.com", "sealedsecrets", "prod", "s")),
        (
            b"/registry/apiextensions.k8s.io/customresourcedefinitions/x.example.com",
            ("apiextensions.k8s.io", "customresourcedefinitions", "", "x.example.com"),
        ),
    ],
)
def test_etcd_key_layout(key: bytes, want: tuple[str, str, str, str]) -> None:
    from strongroom.atrest.audit import parse_key

    assert parse_key(key) == want
