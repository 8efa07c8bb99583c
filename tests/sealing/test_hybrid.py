"""The hybrid RSA-OAEP + AES-GCM recipe: byte layout, tamper detection, key trial order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto import _primitives as prim
from strongroom.crypto.errors import DecryptionError, FormatError, InvalidKeyError
from strongroom.crypto.hybrid import (
    generate_rsa_key,
    hybrid_open,
    hybrid_open_any,
    hybrid_seal,
    key_fingerprint,
    load_certificate,
    load_rsa_private_key,
    private_key_pem,
)


def test_layout_matches_upstream(pair, pair4096):
    for kp, n in ((pair, 256), (pair4096, 512)):
        ct = hybrid_seal(kp.key.public_key(), b"hello", b"ns/name")
        assert int.from_bytes(ct[:2], "big") == n
        assert len(ct) == 2 + n + len(b"hello") + 16
        assert hybrid_open(kp.key, ct, b"ns/name") == b"hello"
    assert hybrid_seal(pair4096.key.public_key(), b"", b"")[:2] == b"\x02\x00"


def test_randomised(pair):
    a = hybrid_seal(pair.key.public_key(), b"same", b"")
    b = hybrid_seal(pair.key.public_key(), b"same", b"")
    assert a != b


def test_empty_value(pair):
    ct = hybrid_seal(pair.key.public_key(), b"", b"x")
    assert hybrid_open(pair.key, ct, b"x") == b""


@pytest.mark.parametrize("where", [0, 1, 2, 100, 257, 258, -17, -1])
def test_any_bit_flip_fails(pair, where):
    ct = bytearray(hybrid_seal(pair.key.public_key(), b"some secret value", b"ns/n"))
    ct[where] ^= 0x01
    with pytest.raises((DecryptionError, FormatError)):
        hybrid_open(pair.key, bytes(ct), b"ns/n")


def test_wrong_label_and_wrong_key(pair, other_pair):
    ct = hybrid_seal(pair.key.public_key(), b"v", b"ns/a")
    with pytest.raises(DecryptionError):
        hybrid_open(pair.key, ct, b"ns/b")
    with pytest.raises(DecryptionError):
        hybrid_open(other_pair.key, ct, b"ns/a")


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x01\x00" + b"x" * 10])
def test_too_short_is_a_format_error(pair, data):
    with pytest.raises(FormatError):
        hybrid_open_any([pair.key], data, b"")


def test_open_any_tries_every_key(pair, other_pair):
    ct = hybrid_seal(pair.key.public_key(), b"v", b"")
    assert hybrid_open_any([other_pair.key, pair.key], ct, b"") == b"v"
    with pytest.raises(DecryptionError, match="no key"):
        hybrid_open_any([other_pair.key], ct, b"")
    with pytest.raises(DecryptionError):
        hybrid_open_any([], ct, b"")


def test_accepts_a_128_bit_session_key(pair):
    """Upstream's decryptor takes any AES key size; a peer documents 128-bit session keys."""
    session = prim.random_bytes(16)
    wrapped = prim.rsa_oaep_encrypt(pair.key.public_key(), session, b"l")
    _, body = prim.aes_gcm_encrypt(session, b"payload", None, unsafe_nonce=bytes(12))
    ct = len(wrapped).to_bytes(2, "big") + wrapped + body
    assert hybrid_open(pair.key, ct, b"l") == b"payload"


@settings(max_examples=25, deadline=None)
@given(value=st.binary(max_size=4096), label=st.binary(max_size=64))
def test_roundtrip_property(pair, value, label):
    assert hybrid_open(pair.key, hybrid_seal(pair.key.public_key(), value, label), label) == value


def test_key_helpers(pair, tmp_path):
    assert load_rsa_private_key(private_key_pem(pair.key)).private_numbers() == pair.key.private_numbers()
    assert private_key_pem(pair.key).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    with pytest.raises(InvalidKeyError):
        load_rsa_private_key(prim.private_key_to_pem(prim.ecdsa_p256_generate()))
    with pytest.raises(InvalidKeyError):
        generate_rsa_key(1024)
    info = load_certificate(pair.cert_pem)
    assert info.public_key.public_numbers() == pair.key.public_key().public_numbers()


def test_fingerprint_matches_ssh_keygen(pair, tmp_path):
    import shutil
    import subprocess

    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen not installed")
    path = tmp_path / "k.pub"
    path.write_bytes(prim.public_key_to_openssh(pair.key.public_key()))
    out = subprocess.run(["ssh-keygen", "-lf", str(path)], capture_output=True, text=True, check=True).stdout
    assert key_fingerprint(pair.key.public_key()) == out.split()[1]
