"""Sealing private keys wrapped by an AES-256 key inside a PKCS#11 token (HSM, SoftHSM), via python-pkcs11.

`tls.key` holds `pkcs11:v1:` + base64(iv(12) | AES-GCM ciphertext||tag) of the PEM private key; AAD binds the
token key's label. The AES key is created inside the token on first use (sensitive, non-extractable) and never
leaves it. Written here rather than reusing strongroom.kms.pkcs11_backend because operator and kms are
independent layers; the format differs from the KMS plugin's on purpose (different purpose, different AAD).
PKCS#11 sessions must not be shared between threads: one session behind a lock.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

from strongroom.sealing import SealingError

PREFIX = b"pkcs11:v1:"
ANNOTATION_WRAP = "strongroom.io/key-wrap"
ANNOTATION_PKCS11_KEY = "strongroom.io/pkcs11-key"


class Pkcs11KeyWrapper:
    def __init__(self, module: str, token_label: str, pin: str, key_label: str) -> None:
        import pkcs11
        from pkcs11.exceptions import PKCS11Error, UserAlreadyLoggedIn

        self._pkcs11, self.key_label, self.token_label = pkcs11, key_label, token_label
        self._lock = threading.Lock()
        try:
            token = pkcs11.lib(module).get_token(token_label=token_label)
            try:
                self._session: Any = token.open(user_pin=pin, rw=True)
            except UserAlreadyLoggedIn:
                self._session = token.open(rw=True)
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise SealingError(f"cannot open PKCS#11 token {token_label!r}: {type(exc).__name__}") from None

    def annotations(self) -> dict[str, str]:
        return {ANNOTATION_WRAP: "pkcs11", ANNOTATION_PKCS11_KEY: f"{self.token_label}/{self.key_label}"}

    def _aad(self) -> bytes:
        return b"strongroom-sealing-key|" + self.key_label.encode()

    def _key(self, create: bool) -> Any:
        from pkcs11 import Attribute, KeyType, ObjectClass

        found = list(self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                                Attribute.LABEL: self.key_label}))
        if found:
            return found[0]
        if not create:
            raise SealingError(f"no AES key labelled {self.key_label!r} on PKCS#11 token {self.token_label!r}")
        return self._session.generate_key(KeyType.AES, 256, label=self.key_label, store=True,
                                          template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False})

    def _wrap_sync(self, pem: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.exceptions import PKCS11Error
        from pkcs11.mechanisms import GCMParams

        with self._lock:
            try:
                iv = bytes(self._session.generate_random(96))
                ct = self._key(create=True).encrypt(pem, mechanism=Mechanism.AES_GCM,
                                                    mechanism_param=GCMParams(iv, self._aad()))
            except PKCS11Error as exc:
                raise SealingError(f"PKCS#11 wrap failed: {type(exc).__name__}") from None
        return PREFIX + base64.b64encode(iv + bytes(ct))

    def _unwrap_sync(self, wrapped: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.exceptions import PKCS11Error
        from pkcs11.mechanisms import GCMParams

        try:
            blob = base64.b64decode(wrapped[len(PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise SealingError("malformed PKCS#11-wrapped key") from None
        if not wrapped.startswith(PREFIX) or len(blob) < 12 + 16:
            raise SealingError("malformed PKCS#11-wrapped key")
        with self._lock:
            try:
                return bytes(self._key(create=False).decrypt(blob[12:], mechanism=Mechanism.AES_GCM,
                                                             mechanism_param=GCMParams(blob[:12], self._aad())))
            except PKCS11Error:
                raise SealingError("PKCS#11 unwrap failed: wrong token key or altered ciphertext") from None

    async def wrap(self, pem: bytes) -> bytes:
        return self._wrap_sync(pem)

    async def unwrap(self, wrapped: bytes) -> bytes:
        return self._unwrap_sync(wrapped)
