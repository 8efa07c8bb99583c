"""Sealing private keys wrapped by Strongroom transit (bitnami/sealed-secrets#64).

With `--key-wrap transit` the key Secret's `tls.key` holds transit's `vault:vN:` ciphertext of the PEM private
key instead of the PEM itself, and the Secret is annotated `strongroom.io/key-wrap: transit`. Whoever can read
Secrets in the controller namespace then learns nothing without also being allowed to call transit's
`decrypt/<key>`. The controller unwraps at start, reload and rotation and keeps the key in memory only.

Only transit's documented `encrypt/<key>` and `decrypt/<key>` endpoints are used, through strongroom.client, so
any Vault-compatible transit engine works. The token is read from a file at every call (a rotated token file
is picked up) and never logged. Plain (unwrapped) key Secrets still load, so an existing install can switch on
wrapping: new keys are wrapped, old ones keep working.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Protocol

from strongroom.client import AsyncClient, ClientConfig, ClientError
from strongroom.sealing import SealingError

ANNOTATION_WRAP = "strongroom.io/key-wrap"
ANNOTATION_TRANSIT_KEY = "strongroom.io/transit-key"
WRAPPED_PREFIX = b"vault:v"


class KeyWrapper(Protocol):
    """Wraps/unwraps a PEM private key; errors are SealingError without the key or token in them."""

    def annotations(self) -> dict[str, str]: ...

    async def wrap(self, pem: bytes) -> bytes: ...

    async def unwrap(self, wrapped: bytes) -> bytes: ...


def wrap_kind(tls_key: bytes) -> str | None:
    """"transit" or "pkcs11" for a wrapped `tls.key` (see keywrap_pkcs11.py), None for a plain PEM."""
    if tls_key.startswith(WRAPPED_PREFIX):
        return "transit"
    if tls_key.startswith(b"pkcs11:v1:"):
        return "pkcs11"
    return None


def is_wrapped(tls_key: bytes) -> bool:
    return wrap_kind(tls_key) is not None


class TransitKeyWrapper:
    def __init__(self, address: str, key: str, *, token_file: str | Path, mount: str = "transit",
                 ca_file: str | None = None, timeout: float = 30.0) -> None:
        self.address, self.key, self.mount = address, key, mount.strip("/")
        self.token_file, self.ca_file, self.timeout = Path(token_file), ca_file, timeout

    def annotations(self) -> dict[str, str]:
        return {ANNOTATION_WRAP: "transit", ANNOTATION_TRANSIT_KEY: f"{self.mount}/{self.key}"}

    def _client(self) -> AsyncClient:
        try:
            token = self.token_file.read_text().strip()
        except OSError as exc:
            raise SealingError(f"cannot read the transit token file {self.token_file} ({exc.strerror})") from None
        return AsyncClient(ClientConfig(address=self.address, token=token, ca_cert=self.ca_file or "",
                                        timeout=self.timeout))

    async def _call(self, op: str, body: dict[str, str], field: str) -> str:
        client = self._client()
        try:
            answer = await client.write(f"{self.mount}/{op}/{self.key}", body)
        except ClientError as exc:
            raise SealingError(f"transit {op} with key {self.mount}/{self.key} failed: HTTP {exc.status}") from None
        finally:
            await client.aclose()
        value = ((answer or {}).get("data") or {}).get(field)
        if not isinstance(value, str):
            raise SealingError(f"transit {op} with key {self.mount}/{self.key} returned no {field}")
        return value

    async def wrap(self, pem: bytes) -> bytes:
        ct = await self._call("encrypt", {"plaintext": base64.b64encode(pem).decode()}, "ciphertext")
        if not is_wrapped(ct.encode()):
            raise SealingError("transit encrypt returned an unexpected ciphertext format")
        return ct.encode()

    async def unwrap(self, wrapped: bytes) -> bytes:
        plain = await self._call("decrypt", {"ciphertext": wrapped.decode("ascii", "replace")}, "plaintext")
        try:
            return base64.b64decode(plain, validate=True)
        except (binascii.Error, ValueError):
            raise SealingError("transit decrypt returned malformed plaintext") from None
