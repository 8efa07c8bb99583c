"""Transit through hvac against a real server, cross-checked with OpenBao where formats must agree."""

from __future__ import annotations

import base64

import hvac
import pytest


def b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


@pytest.fixture(scope="module")
def client(dev_server):
    c = hvac.Client(url=dev_server.addr, token="root")
    if "transit/" not in c.sys.list_mounted_secrets_engines()["data"]:
        c.sys.enable_secrets_engine("transit")
    return c


def test_encrypt_decrypt_rotate_rewrap(client):
    t = client.secrets.transit
    t.create_key("app")
    ct = t.encrypt_data("app", plaintext=b64(b"hello"))["data"]["ciphertext"]
    assert ct.startswith("vault:v1:")
    assert base64.b64decode(t.decrypt_data("app", ciphertext=ct)["data"]["plaintext"]) == b"hello"
    t.rotate_key("app")
    assert t.read_key("app")["data"]["latest_version"] == 2
    new = t.rewrap_data("app", ciphertext=ct)["data"]["ciphertext"]
    assert new.startswith("vault:v2:")
    t.update_key_configuration("app", min_decryption_version=2)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.decrypt_data("app", ciphertext=ct)
    assert base64.b64decode(t.decrypt_data("app", ciphertext=new)["data"]["plaintext"]) == b"hello"


@pytest.mark.parametrize("ktype", ["aes256-gcm96", "chacha20-poly1305"])
def test_key_types_and_batch(client, ktype):
    t = client.secrets.transit
    name = f"batch-{ktype}"
    t.create_key(name, key_type=ktype)
    items = [{"plaintext": b64(f"v{i}".encode())} for i in range(5)]
    res = t.encrypt_data(name, batch_input=items)["data"]["batch_results"]
    assert len(res) == 5
    dec = t.decrypt_data(name, batch_input=[{"ciphertext": r["ciphertext"]} for r in res])["data"]["batch_results"]
    assert [base64.b64decode(r["plaintext"]) for r in dec] == [f"v{i}".encode() for i in range(5)]


def test_derived_and_convergent(client):
    t = client.secrets.transit
    t.create_key("conv", derived=True, convergent_encryption=True)
    ctx = b64(b"tenant-a")
    a = t.encrypt_data("conv", plaintext=b64(b"same"), context=ctx)["data"]["ciphertext"]
    b = t.encrypt_data("conv", plaintext=b64(b"same"), context=ctx)["data"]["ciphertext"]
    assert a == b
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.decrypt_data("conv", ciphertext=a, context=b64(b"tenant-b"))


@pytest.mark.parametrize("ktype", ["ed25519", "ecdsa-p256", "rsa-2048"])
def test_sign_verify(client, ktype):
    t = client.secrets.transit
    name = f"sig-{ktype}"
    t.create_key(name, key_type=ktype)
    sig = t.sign_data(name, hash_input=b64(b"message"))["data"]["signature"]
    assert t.verify_signed_data(name, hash_input=b64(b"message"), signature=sig)["data"]["valid"] is True
    assert t.verify_signed_data(name, hash_input=b64(b"other"), signature=sig)["data"]["valid"] is False


def test_hmac_datakey_random_hash_export(client):
    t = client.secrets.transit
    t.create_key("mac", exportable=True)
    mac = t.generate_hmac("mac", hash_input=b64(b"data"))["data"]["hmac"]
    assert t.verify_signed_data("mac", hash_input=b64(b"data"), hmac=mac)["data"]["valid"] is True
    dk = t.generate_data_key("mac", key_type="plaintext")["data"]
    assert len(base64.b64decode(dk["plaintext"])) == 32
    assert base64.b64decode(t.decrypt_data("mac", ciphertext=dk["ciphertext"])["data"]["plaintext"]) == \
        base64.b64decode(dk["plaintext"])
    assert len(base64.b64decode(t.generate_random_bytes(n_bytes=16)["data"]["random_bytes"])) == 16
    assert t.hash_data(hash_input=b64(b"abc"), algorithm="sha2-256")["data"]["sum"] == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    exported = t.export_key("mac", key_type="encryption-key")["data"]["keys"]
    assert len(base64.b64decode(exported["1"])) == 32


def test_delete_needs_deletion_allowed(client):
    t = client.secrets.transit
    t.create_key("doomed")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.delete_key("doomed")
    t.update_key_configuration("doomed", deletion_allowed=True)
    t.delete_key("doomed")
    with pytest.raises(hvac.exceptions.InvalidPath):
        t.read_key("doomed")


def test_bad_input(client):
    t = client.secrets.transit
    t.create_key("bad")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.decrypt_data("bad", ciphertext="not-a-ciphertext")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.encrypt_data("bad", plaintext="%%%not-base64")
    with pytest.raises(hvac.exceptions.InvalidRequest):  # hvac refuses it client-side; send it raw
        client.adapter.post("/v1/transit/keys/weird", json={"type": "rot13"})
    client.adapter.post("/v1/transit/keys/small", json={"type": "aes128-gcm96"})
    ct = t.encrypt_data("small", plaintext=b64(b"x"))["data"]["ciphertext"]
    assert base64.b64decode(t.decrypt_data("small", ciphertext=ct)["data"]["plaintext"]) == b"x"


def test_openbao_can_use_the_same_wire_format(client, bao_server):
    """An exported key imported nowhere else is hard to cross-check; instead check both servers agree on
    the format of ciphertexts and hashes for the same operations."""
    bao = hvac.Client(url=bao_server.addr, token="root")
    if "transit/" not in bao.sys.list_mounted_secrets_engines()["data"]:
        bao.sys.enable_secrets_engine("transit")
    for c in (client, bao):
        c.secrets.transit.create_key("fmt")
        ct = c.secrets.transit.encrypt_data("fmt", plaintext=b64(b"x" * 10))["data"]["ciphertext"]
        assert ct.startswith("vault:v1:") and len(base64.b64decode(ct.split(":", 2)[2])) == 12 + 10 + 16
    assert client.secrets.transit.hash_data(hash_input=b64(b"q"))["data"]["sum"] == \
        bao.secrets.transit.hash_data(hash_input=b64(b"q"))["data"]["sum"]
