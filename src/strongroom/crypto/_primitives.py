"""The ONLY module that imports cryptography.hazmat. Thin, typed wrappers; no policy, no formats.

Everything above this file composes these into versioned recipes (see barrier.py, hybrid.py, shamir.py).
Dangerous choices are keyword-only and prefixed `unsafe_`.
"""

from __future__ import annotations

import datetime as _dt
import hmac as _hmac
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.crypto.errors import DecryptionError, InvalidKeyError, VerificationError


class _Lazy:
    """Imports a module (or one attribute of it) on first use: X.509 and the asymmetric modules cost a third of
    a second to import, and the server's hot path (the barrier) needs only AES-GCM."""

    def __init__(self, module: str, attr: str | None = None) -> None:
        self._module, self._attr = module, attr
        self._target: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._target is None:
            mod = importlib.import_module(self._module)
            self._target = getattr(mod, self._attr) if self._attr else mod
        return getattr(self._target, name)


if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.asymmetric import padding as apadding
    from cryptography.x509.oid import ExtensionOID, NameOID

    RSAPrivateKey = rsa.RSAPrivateKey
    RSAPublicKey = rsa.RSAPublicKey
else:
    x509 = _Lazy("cryptography.x509")
    serialization = _Lazy("cryptography.hazmat.primitives.serialization")
    ec = _Lazy("cryptography.hazmat.primitives.asymmetric.ec")
    ed25519 = _Lazy("cryptography.hazmat.primitives.asymmetric.ed25519")
    rsa = _Lazy("cryptography.hazmat.primitives.asymmetric.rsa")
    apadding = _Lazy("cryptography.hazmat.primitives.asymmetric.padding")
    ExtensionOID = _Lazy("cryptography.x509.oid", "ExtensionOID")
    NameOID = _Lazy("cryptography.x509.oid", "NameOID")


__all__ = [
    "InvalidSignature",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "chacha_decrypt",
    "chacha_encrypt",
    "constant_time_eq",
    "hkdf_sha256",
    "hmac_sha256",
    "random_bytes",
]

GCM_NONCE = 12


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def constant_time_eq(a: bytes | str, b: bytes | str) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return _hmac.compare_digest(a, b)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return _hmac.new(key, data, "sha256").digest()


def hkdf_sha256(key: bytes, *, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


# --- AEAD -----------------------------------------------------------------------------------------------------

def aes_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes | None = None, *,
                    unsafe_nonce: bytes | None = None) -> tuple[bytes, bytes]:
    """Returns (nonce, ciphertext||tag). A caller-chosen nonce is only safe with a single-use key."""
    nonce = unsafe_nonce if unsafe_nonce is not None else os.urandom(GCM_NONCE)
    try:
        return nonce, AESGCM(key).encrypt(nonce, plaintext, aad)
    except ValueError as exc:
        raise InvalidKeyError(str(exc)) from None


def aes_gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes | None = None) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError("message authentication failed") from None
    except ValueError as exc:
        raise DecryptionError(f"invalid ciphertext or key: {exc}") from None


def chacha_encrypt(key: bytes, plaintext: bytes, aad: bytes | None = None) -> tuple[bytes, bytes]:
    nonce = os.urandom(12)
    return nonce, ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def chacha_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes | None = None) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError("message authentication failed") from None
    except ValueError as exc:
        raise DecryptionError(f"invalid ciphertext or key: {exc}") from None


def aes_cbc_encrypt(key: bytes, plaintext: bytes, *, iv: bytes | None = None) -> tuple[bytes, bytes]:
    """AES-CBC with PKCS#7 padding: only for formats that demand it (Kubernetes `aescbc`). Returns (iv, ct)."""
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv, enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    try:
        dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        data = dec.update(ciphertext) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(data) + unpadder.finalize()
    except ValueError:
        raise DecryptionError("invalid AES-CBC ciphertext or padding") from None


# --- RSA ------------------------------------------------------------------------------------------------------

def __getattr__(name: str) -> Any:  # RSAPrivateKey / RSAPublicKey, resolved lazily
    if name in ("RSAPrivateKey", "RSAPublicKey"):
        return getattr(rsa, name)
    raise AttributeError(name)


def rsa_generate(bits: int = 4096) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _oaep(label: bytes | None) -> apadding.OAEP:
    return apadding.OAEP(mgf=apadding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)


def rsa_oaep_encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    return public_key.encrypt(plaintext, _oaep(label))


def rsa_oaep_decrypt(private_key: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    try:
        return private_key.decrypt(ciphertext, _oaep(label))
    except ValueError:
        raise DecryptionError("RSA-OAEP decryption failed") from None


def rsa_pss_sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private_key.sign(data, apadding.PSS(apadding.MGF1(hashes.SHA256()), apadding.PSS.MAX_LENGTH),
                            hashes.SHA256())


def rsa_pss_verify(public_key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    try:
        public_key.verify(signature, data, apadding.PSS(apadding.MGF1(hashes.SHA256()), apadding.PSS.AUTO),
                          hashes.SHA256())
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


def rsa_pkcs1v15_verify(public_key: rsa.RSAPublicKey, signature: bytes, data: bytes, hash_name: str = "sha256") -> None:
    algo = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[hash_name]
    try:
        public_key.verify(signature, data, apadding.PKCS1v15(), algo)
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


# --- EC / Ed25519 ---------------------------------------------------------------------------------------------

def ed25519_generate() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def ed25519_sign(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def ed25519_verify(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


def ecdsa_p256_generate() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def ecdsa_sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def ecdsa_verify(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> None:
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


# --- serialisation and X.509 ----------------------------------------------------------------------------------

def private_key_to_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
                       *, pkcs1: bool = False) -> bytes:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def public_key_to_pem(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key_pem(data: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidKeyError("not a readable unencrypted PEM private key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise InvalidKeyError("unsupported private key type")
    return key


def load_public_key_pem(data: bytes) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InvalidKeyError("not a readable PEM public key") from None
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        raise InvalidKeyError("unsupported public key type")
    return key


def load_certificate_pem(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise InvalidKeyError("not a readable PEM certificate") from None


def certificate_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def self_signed_certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, common_name: str, *,
                            days: int = 3650, organization: str | None = None,
                            dns_names: list[str] | None = None, ip_addresses: list[str] | None = None,
                            not_before: _dt.datetime | None = None) -> x509.Certificate:
    import ipaddress

    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attrs)
    start = not_before or _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names or []]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses or []]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


def sha256(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


# --- Sealed Secrets (kubeseal) key material ----------------------------------------------------------------

_KEY_USAGE_ENCIPHER_ONLY_DER = b"\x03\x02\x00\x01"  # BIT STRING, bit 7 (encipherOnly) set, as Go writes it


def sealed_secrets_certificate(key: rsa.RSAPrivateKey, *, common_name: str = "",
                               not_before: _dt.datetime | None = None,
                               validity: _dt.timedelta = _dt.timedelta(hours=87600)) -> x509.Certificate:
    """Self-signed certificate shaped like the sealed-secrets controller's (see sealed-secrets-format.md §7).

    Issuer = Subject = CN=<common_name> (an empty DN when empty), serial in [1, 2^128), KeyUsage encipherOnly
    (critical, written raw: `cryptography` refuses to build that combination), CA:TRUE (critical),
    SubjectKeyId.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    start = (not_before or _dt.datetime.now(_dt.UTC)).replace(microsecond=0)
    serial = int.from_bytes(os.urandom(16), "big") or 1
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, _KEY_USAGE_ENCIPHER_ONLY_DER),
                       critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def public_key_to_openssh(key: rsa.RSAPublicKey) -> bytes:
    """`ssh-rsa AAAA...`: the input of the SSH-style SHA256 fingerprint sealed-secrets keys are named by."""
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


# --- Kubernetes KMS v2 (atrest / kms) ---------------------------------------------------------------------

def hkdf_expand_sha256(prk: bytes, *, info: bytes, length: int = 32) -> bytes:
    """HKDF-Expand only (RFC 5869 step 2), as Kubernetes KMS v2 derives per-write DEKs from its seed."""
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


# --- generic signing (transit) --------------------------------------------------------------------------------

_HASHES = {"sha2-224": "SHA224", "sha2-256": "SHA256", "sha2-384": "SHA384", "sha2-512": "SHA512",
           "sha3-224": "SHA3_224", "sha3-256": "SHA3_256", "sha3-384": "SHA3_384", "sha3-512": "SHA3_512"}


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    try:
        cls: type[hashes.HashAlgorithm] = getattr(hashes, _HASHES[name])
    except KeyError:
        raise InvalidKeyError(f"unsupported hash algorithm {name!r}") from None
    return cls()


def digest(name: str, data: bytes) -> bytes:
    h = hashes.Hash(hash_algorithm(name))
    h.update(data)
    return h.finalize()


def hmac_digest(key: bytes, data: bytes, hash_name: str = "sha2-256") -> bytes:
    import hmac as std_hmac

    std_name = {"sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
                "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384", "sha3-512": "sha3_512"}
    if hash_name not in std_name:
        raise InvalidKeyError(f"unsupported hash algorithm {hash_name!r}")
    return std_hmac.new(key, data, std_name[hash_name]).digest()


def sign(key: Any, data: bytes, *, hash_name: str = "sha2-256", rsa_padding: str = "pss",
         prehashed: bool = False) -> bytes:
    """Signs with an Ed25519, ECDSA or RSA private key (RSA: PSS with max salt, or PKCS#1 v1.5)."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    algo: Any = Prehashed(hash_algorithm(hash_name)) if prehashed else hash_algorithm(hash_name)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algo))
    if isinstance(key, rsa.RSAPrivateKey):
        pad: Any = (apadding.PSS(apadding.MGF1(hash_algorithm(hash_name)), apadding.PSS.MAX_LENGTH)
                    if rsa_padding == "pss" else apadding.PKCS1v15())
        return key.sign(data, pad, algo)
    raise InvalidKeyError("not a signing key")


def verify(key: Any, signature: bytes, data: bytes, *, hash_name: str = "sha2-256", rsa_padding: str = "pss",
           prehashed: bool = False) -> None:
    """Raises VerificationError; never returns a bool."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    algo: Any = Prehashed(hash_algorithm(hash_name)) if prehashed else hash_algorithm(hash_name)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algo))
        elif isinstance(key, rsa.RSAPublicKey):
            pad: Any = (apadding.PSS(apadding.MGF1(hash_algorithm(hash_name)), apadding.PSS.AUTO)
                        if rsa_padding == "pss" else apadding.PKCS1v15())
            key.verify(signature, data, pad, algo)
        else:
            raise InvalidKeyError("not a verification key")
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


def private_key_from_raw_ed25519(raw: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw)


def public_key_raw(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_asymmetric(kind: str) -> Any:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind in ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521"):
        curve: ec.EllipticCurve = {"ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1(),
                                   "ecdsa-p521": ec.SECP521R1()}[kind]
        return ec.generate_private_key(curve)
    if kind.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    raise InvalidKeyError(f"unsupported key type {kind!r}")


# --- JWS (Kubernetes service-account JWTs, auth/kubernetes pem_keys) ----------------------------------------

_JWS_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384,
                                                              "512": hashes.SHA512}


def jws_public_key(pem: bytes) -> Any:
    """The public key in a PEM public key or X.509 certificate (Vault's pem_keys accepts both)."""
    if b"-----BEGIN CERTIFICATE-----" in pem:
        key = load_certificate_pem(pem).public_key()
        if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
            raise InvalidKeyError("unsupported public key type")
        return key
    return load_public_key_pem(pem)


def jws_verify(public_key_pem: bytes, alg: str, signing_input: bytes, signature: bytes) -> None:
    """Verifies a JWS signature (RS*/PS*/ES* with 256/384/512, EdDSA) with a PEM public key or certificate.
    Raises VerificationError or InvalidKeyError; `alg` must match the key type (no "none", no HMAC)."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    key = jws_public_key(public_key_pem)
    family, bits = alg[:2], alg[2:]
    try:
        if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
        elif family == "RS" and bits in _JWS_HASHES and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, apadding.PKCS1v15(), _JWS_HASHES[bits]())
        elif family == "PS" and bits in _JWS_HASHES and isinstance(key, rsa.RSAPublicKey):
            h = _JWS_HASHES[bits]()
            key.verify(signature, signing_input, apadding.PSS(apadding.MGF1(h), h.digest_size), h)
        elif family == "ES" and bits in _JWS_HASHES and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            if len(signature) % 2 or half != (key.curve.key_size + 7) // 8:
                raise VerificationError("signature verification failed")
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                       int.from_bytes(signature[half:], "big"))
            key.verify(der, signing_input, ec.ECDSA(_JWS_HASHES[bits]()))
        else:
            raise InvalidKeyError(f"algorithm {alg!r} does not match the key or is not allowed")
    except InvalidSignature:
        raise VerificationError("signature verification failed") from None


# --- keyed hashing for audit logs ---------------------------------------------------------------------------

def hmac_sha256_hex_factory(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 with the key schedule done once; each call copies the keyed state (about half the cost of a
    fresh HMAC per value, which matters when every string of every audit entry is hashed)."""
    base = _hmac.new(key, digestmod="sha256")

    def mac(data: bytes) -> str:
        h = base.copy()
        h.update(data)
        return h.hexdigest()

    return mac
