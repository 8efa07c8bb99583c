"""Key pairs and certificates shaped like upstream's; recovery keys; manifest parsing without leaks."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess

import pytest
import yaml

from strongroom import sealing
from strongroom.crypto import _primitives as prim
from strongroom.sealing import CertificateError, ManifestError, dump_manifests, load_manifests


def test_certificate_shape(pair, tmp_path):
    info_cert = prim.load_certificate_pem(pair.cert_pem)
    assert info_cert.subject.rfc4514_string() == "" and info_cert.issuer == info_cert.subject
    assert 0 < info_cert.serial_number < 2**128
    lifetime = info_cert.not_valid_after_utc - info_cert.not_valid_before_utc
    assert lifetime == dt.timedelta(hours=87600)
    if shutil.which("openssl"):
        path = tmp_path / "c.pem"
        path.write_bytes(pair.cert_pem)
        text = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-text"], capture_output=True,
                              text=True, check=True).stdout
        assert "Encipher Only" in text and "CA:TRUE" in text and "Subject Key Identifier" in text


def test_load_recipient_variants(pair):
    expired_cert = prim.certificate_to_pem(prim.sealed_secrets_certificate(
        pair.key, not_before=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), validity=dt.timedelta(days=1)))
    with pytest.raises(CertificateError, match="expired"):
        sealing.load_recipient(expired_cert)
    assert sealing.load_recipient(expired_cert, allow_expired=True)
    spki = prim.public_key_to_pem(pair.key.public_key())
    assert sealing.load_recipient(spki).public_numbers() == pair.key.public_key().public_numbers()
    bundle = pair.cert_pem + expired_cert  # only the first certificate counts
    assert sealing.load_recipient(bundle)
    for bad in (b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                prim.public_key_to_pem(prim.ecdsa_p256_generate().public_key())):
        with pytest.raises(CertificateError):
            sealing.load_recipient(bad)


def test_load_private_keys(pair, other_pair):
    assert len(sealing.load_private_keys(pair.pkcs1_pem)) == 1
    assert len(sealing.load_private_keys(pair.pkcs8_pem)) == 1
    s1 = sealing.key_pair_secret(pair.key, pair.cert_pem, namespace="kube-system")
    s2 = sealing.key_pair_secret(other_pair.key, other_pair.cert_pem, namespace="kube-system")
    assert s1["metadata"]["labels"] == {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
    assert s1["type"] == "kubernetes.io/tls" and s1["metadata"]["generateName"] == "sealed-secrets-key"
    backup = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [s1, s2]}).encode()
    assert len(sealing.load_private_keys(backup)) == 2
    assert len(sealing.load_private_keys(dump_manifests([s1, s2], "yaml").encode())) == 2
    for bad in (b"nothing", b"kind: ConfigMap\napiVersion: v1\n", b"-----BEGIN RSA PRIVATE KEY-----\nxx\n"):
        with pytest.raises(CertificateError):
            sealing.load_private_keys(bad)
    assert sealing.certificate_not_before(pair.cert_pem) <= dt.datetime.now(dt.UTC)


def test_manifest_streams():
    assert load_manifests('{"a": 1}\n{"b": 2}') == [{"a": 1}, {"b": 2}]
    assert load_manifests("---\na: 1\n---\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]
    assert load_manifests("t: 2024-01-01T00:00:00Z") == [{"t": "2024-01-01T00:00:00Z"}]
    listed = load_manifests("kind: List\nitems: [{a: 1}, {b: 2}]", expand_lists=True)
    assert listed == [{"a": 1}, {"b": 2}]
    assert dump_manifests([{"a": 1}], "yaml") == "---\na: 1\n"
    assert dump_manifests([{"a": 1}, {"b": None}], "json") == '{\n  "a": 1\n}\n{\n  "b": null\n}\n'


@pytest.mark.parametrize("text", [
    "stringData:\n  password: [hunter2-secret\n", "{\"password\": \"hunter2-secret\"", "- just\n- a list\n",
    "key: value\n\tbad: hunter2-secret\n", b"\xff\xfe not utf8",
])
def test_manifest_errors_never_quote_input(text):
    with pytest.raises(ManifestError) as info:
        load_manifests(text)
    assert "hunter2" not in str(info.value)


def test_key_pair_secret_roundtrip(pair):
    secret = sealing.key_pair_secret(pair.key, pair.cert_pem, namespace="ns", labels={"x": "y"},
                                     annotations={"a": "b"})
    assert base64.b64decode(secret["data"]["tls.crt"]) == pair.cert_pem
    assert secret["metadata"]["labels"]["x"] == "y" and secret["metadata"]["annotations"] == {"a": "b"}
