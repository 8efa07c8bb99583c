"""Secrets: browse mounts and KV paths, metadata and versions, masked values revealed on demand (each reveal is
an audited read through the API), create/update with CAS, delete/undelete/destroy, roll back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from strongroom.ui.api import Api, ApiError
from strongroom.ui.web import UiRequest, UiResponse


async def kv_mounts(api: Api, token: str) -> dict[str, dict[str, Any]]:
    body = await api.read("sys/internal/ui/mounts", token) or {}
    secret = (body.get("data") or {}).get("secret") or {}
    return {p: m for p, m in secret.items() if m.get("type") == "kv"}


def _version(m: dict[str, Any]) -> int:
    return 2 if str((m.get("options") or {}).get("version", "1")) == "2" else 1


class SecretViews:
    def __init__(self, api: Api, render: Any) -> None:
        self.api, self.render = api, render

    async def index(self, req: UiRequest) -> UiResponse:
        mounts = await kv_mounts(self.api, req.session.token)
        return self.render(req, "secrets_index.html", mounts=mounts)

    async def browse(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        mount, path = req.params["mount"].strip("/") + "/", req.params.get("path", "")
        mounts = await kv_mounts(self.api, token)
        if mount not in mounts:
            return self.render(req, "error.html", status=404, message=f"No KV mount at {mount}")
        v = _version(mounts[mount])
        if path == "" or path.endswith("/"):
            keys = await self.api.list(f"{mount}{'metadata/' if v == 2 else ''}{path}", token)
            return self.render(req, "secrets_list.html", mount=mount, path=path, keys=keys, kv_version=v)
        meta: dict[str, Any] | None = None
        fields: list[str] = []
        if v == 2:
            body = await self.api.read(f"{mount}metadata/{path}", token)
            meta = (body or {}).get("data")
            if meta is None:
                return self.render(req, "error.html", status=404, message="No such secret")
            sub = await self.api.read(f"{mount}subkeys/{path}", token)
            fields = sorted(((sub or {}).get("data") or {}).get("subkeys") or {})
        else:
            body = await self.api.read(f"{mount}{path}", token)
            if body is None:
                return self.render(req, "error.html", status=404, message="No such secret")
            fields = sorted((body.get("data") or {}).keys())
        versions = sorted(((meta or {}).get("versions") or {}).items(), key=lambda kv: -int(kv[0]))
        return self.render(req, "secret.html", mount=mount, path=path, meta=meta, versions=versions,
                           fields=fields, kv_version=v, quote=quote)

    async def reveal(self, req: UiRequest) -> UiResponse:
        """JSON for the page's script: a real read (audited by the server's devices)."""
        j = req.json if isinstance(req.json, dict) else {}
        mount, path = str(j.get("mount", "")).strip("/") + "/", str(j.get("path", ""))
        version = j.get("version")
        token = req.session.token
        try:
            mounts = await kv_mounts(self.api, token)
            if mount not in mounts:
                return UiResponse.json_body({"error": "no such mount"}, 404)
            if _version(mounts[mount]) == 2:
                params = {"version": int(version)} if version else {}
                body = await self.api.read(f"{mount}data/{path}", token, **params)
                data = ((body or {}).get("data") or {}).get("data")
            else:
                body = await self.api.read(f"{mount}{path}", token)
                data = (body or {}).get("data")
        except ApiError as e:
            return UiResponse.json_body({"error": str(e)}, e.status)
        if data is None:
            return UiResponse.json_body({"error": "not found (deleted or destroyed)"}, 404)
        return UiResponse.json_body({"data": data})

    async def save(self, req: UiRequest) -> UiResponse:
        mount, path = req.params["mount"].strip("/") + "/", req.params["path"]
        token = req.session.token
        try:
            data = orjson.loads(req.form.get("data") or "{}")
            if not isinstance(data, dict):
                raise ValueError
        except (ValueError, orjson.JSONDecodeError):
            return self.render(req, "error.html", status=400, message="The value must be a JSON object.")
        mounts = await kv_mounts(self.api, token)
        if mount not in mounts:
            return self.render(req, "error.html", status=404, message=f"No KV mount at {mount}")
        try:
            if _version(mounts[mount]) == 2:
                body: dict[str, Any] = {"data": data}
                if req.form.get("cas", "") != "":
                    body["options"] = {"cas": int(req.form["cas"])}
                await self.api.write(f"{mount}data/{path}", token, body)
            else:
                await self.api.write(f"{mount}{path}", token, data)
        except ApiError as e:
            return self.render(req, "error.html", status=e.status, message=str(e))
        return UiResponse.redirect(f"/ui/secrets/{quote(mount)}{quote(path)}")

    async def action(self, req: UiRequest) -> UiResponse:
        mount, path = req.params["mount"].strip("/") + "/", req.params["path"]
        act, version = req.params["action"], req.form.get("version", "")
        token = req.session.token
        try:
            if act in ("delete", "undelete", "destroy"):
                await self.api.write(f"{mount}{act}/{path}", token, {"versions": [int(version)]})
            elif act == "rollback":
                old = await self.api.read(f"{mount}data/{path}", token, version=int(version))
                meta = await self.api.read(f"{mount}metadata/{path}", token)
                current = ((meta or {}).get("data") or {}).get("current_version", 0)
                data = ((old or {}).get("data") or {}).get("data")
                if data is None:
                    raise ApiError(400, ["that version is deleted or destroyed"])
                await self.api.write(f"{mount}data/{path}", token, {"data": data, "options": {"cas": current}})
            elif act == "delete-all":
                await self.api.delete(f"{mount}metadata/{path}", token)
                return UiResponse.redirect(f"/ui/secrets/{quote(mount)}")
            else:
                return self.render(req, "error.html", status=400, message="unknown action")
        except (ApiError, ValueError) as e:
            return self.render(req, "error.html", status=getattr(e, "status", 400), message=str(e))
        return UiResponse.redirect(f"/ui/secrets/{quote(mount)}{quote(path)}")
