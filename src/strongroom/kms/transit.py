"""Transit KEK backend: Vault, OpenBao or Strongroom's transit engine over the Vault HTTP API (httpx).

Only the documented transit endpoints are used (`keys/<name>`, `encrypt/<name>`, `decrypt/<name>`), so the
same code works against any of the three. Ciphertexts are the transit strings `vault:v<N>:<base64>` as bytes;
the version comes from that prefix, and versions only grow for one transit key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from pathlib import Path

import httpx

from strongroom.kms.backend import BackendError, BadCiphertext

_CT = re.compile(rb"^vault:v(\d+):[A-Za-z0-9+/=]+$")


def _read_token(token: str | None, token_file: str | None) -> str:
    if token_file:
        try:
            return Path(token_file).read_text().strip()
        except OSError as exc:
            raise BackendError(f"cannot read token file {token_file}: {exc.strerror}") from None
    value = token or os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN")
    if not value:
        raise BackendError("no transit token: pass --vault-token-file or set VAULT_TOKEN")
    return value


class TransitBackend:
    kind = "transit"

    def __init__(
        self,
        address: str,
        key: str,
        *,
        mount: str = "transit",
        token: str | None = None,
        token_file: str | None = None,
        namespace: str | None = None,
        cacert: str | None = None,
        timeout: float = 2.0,
        renew: bool = True,
    ) -> None:
        self._address = address.rstrip("/")
        self._key, self._mount = key, mount.strip("/")
        self._token_file = token_file
        headers = {"X-Vault-Token": _read_token(token, token_file)}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        verify: str | bool = cacert if cacert else True
        self._http = httpx.Client(
            base_url=self._address,
            headers=headers,
            timeout=timeout,
            verify=verify,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        digest = hashlib.sha256(f"{self._address}|{namespace or ''}|{self._mount}|{key}".encode()).hexdigest()
        self._lineage = f"transit/{digest[:16]}"
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        if renew:
            self._start_renewer()

    def _start_renewer(self) -> None:
        """Keep a renewable token alive (renew-self at half its TTL), so the plugin outlives the token's TTL."""
        try:
            resp = self._http.get("/v1/auth/token/lookup-self")
            data = (resp.json().get("data") or {}) if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return  # not fatal here: the first Status probe reports an unreachable backend
        if not data.get("renewable") or not int(data.get("ttl") or 0):
            return
        increment = int(data.get("creation_ttl") or data.get("ttl") or 0)

        def loop(ttl: int) -> None:
            while not self._stop.wait(max(ttl / 2, 1)):
                try:
                    r = self._http.post("/v1/auth/token/renew-self", json={"increment": f"{increment}s"})
                    ttl = int((r.json().get("auth") or {}).get("lease_duration") or ttl)
                except (httpx.HTTPError, ValueError):
                    ttl = max(ttl // 2, 2)  # retry sooner; Status will show errors if the token lapses

        self._renewer = threading.Thread(target=loop, args=(int(data["ttl"]),), daemon=True, name="transit-renew")
        self._renewer.start()

    @property
    def lineage(self) -> str:
        return self._lineage

    def _call(self, method: str, path: str, body: dict[str, str] | None = None) -> dict[str, object]:
        url = f"/v1/{self._mount}/{path}"
        try:
            resp = self._http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise BackendError(f"transit {path.split('/')[0]} failed: {exc.__class__.__name__}") from None
        if resp.status_code == 403 and self._token_file:
            # token may have been renewed on disk (agent sidecar); re-read once
            self._http.headers["X-Vault-Token"] = _read_token(None, self._token_file)
            resp = self._http.request(method, url, json=body)
        if resp.status_code >= 400:
            errors = (
                resp.json().get("errors", [])
                if resp.headers.get("content-type", "").startswith("application/json")
                else []
            )
            # transit error texts name no key material; keep them short
            detail = "; ".join(str(e) for e in errors)[:200]
            if resp.status_code == 400 and path.startswith("decrypt/"):
                raise BadCiphertext(f"transit refused the ciphertext: {detail}")
            raise BackendError(f"transit {path.split('/')[0]} returned HTTP {resp.status_code}: {detail}")
        data = resp.json().get("data") or {}
        if not isinstance(data, dict):
            raise BackendError("transit returned no data")
        return data

    def current_version(self) -> int:
        data = self._call("GET", f"keys/{self._key}")
        try:
            return int(str(data["latest_version"]))
        except (KeyError, ValueError):
            raise BackendError("transit key read has no latest_version") from None

    def wrap(self, plaintext: bytes) -> tuple[bytes, int]:
        data = self._call("POST", f"encrypt/{self._key}", {"plaintext": base64.b64encode(plaintext).decode()})
        ct = str(data.get("ciphertext", "")).encode()
        m = _CT.match(ct)
        if not m:
            raise BackendError("transit returned a ciphertext that is not vault:v<N>:")
        return ct, int(m.group(1))

    def unwrap(self, ciphertext: bytes) -> bytes:
        if not _CT.match(ciphertext):
            raise BadCiphertext("not a transit vault:v<N>: ciphertext")
        data = self._call("POST", f"decrypt/{self._key}", {"ciphertext": ciphertext.decode()})
        try:
            return base64.b64decode(str(data["plaintext"]), validate=True)
        except (KeyError, binascii.Error):
            raise BackendError("transit decrypt returned no plaintext") from None

    def close(self) -> None:
        self._stop.set()
        self._http.close()
