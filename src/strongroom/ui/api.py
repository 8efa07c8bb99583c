"""The dashboard's only way into the server: the public /v1 API, called in process through the ASGI app
(same pipeline as any client: authentication, ACL, audit)."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__("; ".join(errors) or f"HTTP {status}")
        self.status, self.errors = status, errors


class Api:
    def __init__(self, asgi_app: Any) -> None:
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app, client=("127.0.0.1", 0)),
                                       base_url="http://strongroom.internal/v1/", timeout=30)

    async def call(self, method: str, path: str, token: str, json: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        r = await self._http.request(method, path.lstrip("/"), json=json, params=params,
                                     headers={"X-Vault-Token": token} if token else {})
        if r.status_code == 204:
            return None
        body = r.json() if r.content else None
        if r.status_code >= 400:
            errs = [str(e) for e in (body or {}).get("errors", [])] if isinstance(body, dict) else []
            raise ApiError(r.status_code, errs)
        return body if isinstance(body, dict) else None

    async def read(self, path: str, token: str, **params: Any) -> dict[str, Any] | None:
        try:
            return await self.call("GET", path, token, params=params or None)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def list(self, path: str, token: str) -> list[str]:
        try:
            body = await self.call("LIST", path, token)
        except ApiError as e:
            if e.status == 404:
                return []
            raise
        return list(((body or {}).get("data") or {}).get("keys") or [])

    async def write(self, path: str, token: str, data: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return await self.call("POST", path, token, json=data or {})

    async def delete(self, path: str, token: str) -> None:
        await self.call("DELETE", path, token)
