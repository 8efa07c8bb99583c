"""Client implementation. Both flavours share request building and response decoding; only I/O differs."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx


class ClientError(Exception):
    """The server answered with an error. `.status` is the HTTP status, `.errors` the server's messages."""

    def __init__(self, status: int, errors: list[str], path: str) -> None:
        msg = "; ".join(errors) if errors else f"HTTP {status}"
        super().__init__(f"{path}: {msg} (HTTP {status})")
        self.status, self.errors, self.path = status, errors, path


class Forbidden(ClientError):
    """403: bad, expired or revoked token, or the policy denies the path."""


class NotFoundError(ClientError):
    """404: nothing at that path."""


class ServerUnavailable(ClientError):
    """503 (sealed, standby, audit unavailable) or the server could not be reached."""


@dataclass
class ClientConfig:
    address: str = field(default_factory=lambda: os.environ.get("VAULT_ADDR") or os.environ.get(
        "BAO_ADDR") or "http://127.0.0.1:8200")
    token: str = field(default_factory=lambda: os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN") or "")
    namespace: str = ""
    ca_cert: str = ""  # file with PEM CA bundle
    ca_pem: bytes = b""  # in-memory PEM (ESO's caBundle)
    client_cert: str = ""
    client_key: str = ""
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    insecure_skip_verify: bool = False

    def verify(self) -> ssl.SSLContext | bool:
        if self.insecure_skip_verify:
            return False
        if not (self.ca_cert or self.ca_pem or self.client_cert):
            return True
        ctx = ssl.create_default_context(cafile=self.ca_cert or None,
                                         cadata=self.ca_pem.decode() if self.ca_pem else None)
        if self.client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key or None)
        return ctx


def _headers(cfg: ClientConfig, token: str | None, wrap_ttl: str | None) -> dict[str, str]:
    h = dict(cfg.headers)
    tok = cfg.token if token is None else token
    if tok:
        h["X-Vault-Token"] = tok
    if cfg.namespace:
        h["X-Vault-Namespace"] = cfg.namespace
    if wrap_ttl:
        h["X-Vault-Wrap-TTL"] = wrap_ttl
    h["X-Vault-Request"] = "true"
    return h


def _decode(resp: httpx.Response, path: str) -> dict[str, Any] | None:
    if resp.status_code == 204:
        return None
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
    if resp.status_code >= 400:
        errors = [str(e) for e in (body or {}).get("errors", [])] if isinstance(body, dict) else []
        cls = {403: Forbidden, 404: NotFoundError, 503: ServerUnavailable}.get(resp.status_code, ClientError)
        raise cls(resp.status_code, errors, path)
    return body if isinstance(body, dict) else None


def kv2_paths(mount: str, key: str) -> tuple[str, str]:
    mount = mount.strip("/")
    return f"{mount}/data/{key.strip('/')}", f"{mount}/metadata/{key.strip('/')}"


class Client:
    """Synchronous client."""

    def __init__(self, config: ClientConfig | None = None, **kw: Any) -> None:
        self.config = config or ClientConfig(**kw)
        self._http = httpx.Client(base_url=self.config.address.rstrip("/") + "/v1/", timeout=self.config.timeout,
                                  verify=self.config.verify())

    @property
    def token(self) -> str:
        return self.config.token

    @token.setter
    def token(self, value: str) -> None:
        self.config.token = value

    def request(self, method: str, path: str, json: dict[str, Any] | None = None, *, token: str | None = None,
                params: dict[str, Any] | None = None, wrap_ttl: str | None = None) -> dict[str, Any] | None:
        path = path.lstrip("/")
        try:
            resp = self._http.request(method, path, json=json, params=params,
                                      headers=_headers(self.config, token, wrap_ttl))
        except httpx.HTTPError as exc:
            raise ServerUnavailable(0, [f"cannot reach {self.config.address}: {type(exc).__name__}"], path) from None
        return _decode(resp, path)

    def read(self, path: str, **params: Any) -> dict[str, Any] | None:
        try:
            return self.request("GET", path, params=params or None)
        except NotFoundError:
            return None

    def write(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any] | None:
        return self.request("POST", path, data or {}, **kw)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def list(self, path: str) -> list[str]:
        try:
            body = self.request("LIST", path)
        except NotFoundError:
            return []
        return list(((body or {}).get("data") or {}).get("keys") or [])

    def kv_get(self, mount: str, key: str, *, version: int | None = None, kv_version: int = 2
               ) -> dict[str, Any] | None:
        if kv_version == 1:
            body = self.read(f"{mount.strip('/')}/{key}")
            return None if body is None else dict(body.get("data") or {})
        data_path, _ = kv2_paths(mount, key)
        body = self.read(data_path, **({"version": version} if version else {}))
        if body is None or not body.get("data") or body["data"].get("data") is None:
            return None
        return dict(body["data"]["data"])

    def kv_put(self, mount: str, key: str, data: dict[str, Any], *, cas: int | None = None,
               kv_version: int = 2) -> dict[str, Any] | None:
        if kv_version == 1:
            return self.write(f"{mount.strip('/')}/{key}", data)
        body: dict[str, Any] = {"data": data}
        if cas is not None:
            body["options"] = {"cas": cas}
        return self.write(kv2_paths(mount, key)[0], body)

    def lookup_self(self) -> dict[str, Any]:
        return dict((self.read("auth/token/lookup-self") or {}).get("data") or {})

    def renew_self(self, increment: str | None = None) -> dict[str, Any]:
        return dict((self.write("auth/token/renew-self", {"increment": increment} if increment else {})
                     or {}).get("auth") or {})

    def revoke_self(self) -> None:
        self.write("auth/token/revoke-self")

    def login(self, mount: str, body: dict[str, Any], *, path: str = "login") -> dict[str, Any]:
        auth = (self.request("POST", f"auth/{mount.strip('/')}/{path}", body, token="") or {}).get("auth")
        if not auth:
            raise ClientError(200, ["login response carried no auth"], f"auth/{mount}/{path}")
        self.token = auth["client_token"]
        return dict(auth)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """Asynchronous client, same surface as Client."""

    def __init__(self, config: ClientConfig | None = None, **kw: Any) -> None:
        self.config = config or ClientConfig(**kw)
        self._http = httpx.AsyncClient(base_url=self.config.address.rstrip("/") + "/v1/",
                                       timeout=self.config.timeout, verify=self.config.verify())

    @property
    def token(self) -> str:
        return self.config.token

    @token.setter
    def token(self, value: str) -> None:
        self.config.token = value

    async def request(self, method: str, path: str, json: dict[str, Any] | None = None, *,
                      token: str | None = None, params: dict[str, Any] | None = None,
                      wrap_ttl: str | None = None) -> dict[str, Any] | None:
        path = path.lstrip("/")
        try:
            resp = await self._http.request(method, path, json=json, params=params,
                                            headers=_headers(self.config, token, wrap_ttl))
        except httpx.HTTPError as exc:
            raise ServerUnavailable(0, [f"cannot reach {self.config.address}: {type(exc).__name__}"], path) from None
        return _decode(resp, path)

    async def read(self, path: str, **params: Any) -> dict[str, Any] | None:
        try:
            return await self.request("GET", path, params=params or None)
        except NotFoundError:
            return None

    async def write(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any] | None:
        return await self.request("POST", path, data or {}, **kw)

    async def delete(self, path: str) -> None:
        await self.request("DELETE", path)

    async def list(self, path: str) -> list[str]:
        try:
            body = await self.request("LIST", path)
        except NotFoundError:
            return []
        return list(((body or {}).get("data") or {}).get("keys") or [])

    async def kv_get(self, mount: str, key: str, *, version: int | None = None, kv_version: int = 2
                     ) -> dict[str, Any] | None:
        if kv_version == 1:
            body = await self.read(f"{mount.strip('/')}/{key}")
            return None if body is None else dict(body.get("data") or {})
        body = await self.read(kv2_paths(mount, key)[0], **({"version": version} if version else {}))
        if body is None or not body.get("data") or body["data"].get("data") is None:
            return None
        return dict(body["data"]["data"])

    async def lookup_self(self) -> dict[str, Any]:
        return dict((await self.read("auth/token/lookup-self") or {}).get("data") or {})

    async def renew_self(self, increment: str | None = None) -> dict[str, Any]:
        body = await self.write("auth/token/renew-self", {"increment": increment} if increment else {})
        return dict((body or {}).get("auth") or {})

    async def revoke_self(self) -> None:
        await self.write("auth/token/revoke-self")

    async def login(self, mount: str, body: dict[str, Any], *, path: str = "login") -> dict[str, Any]:
        auth = ((await self.request("POST", f"auth/{mount.strip('/')}/{path}", body, token="")) or {}).get("auth")
        if not auth:
            raise ClientError(200, ["login response carried no auth"], f"auth/{mount}/{path}")
        self.token = auth["client_token"]
        return dict(auth)

    async def aclose(self) -> None:
        await self._http.aclose()
