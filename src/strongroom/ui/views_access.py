"""Access: policies with an explain view, tokens and leases with revoke, auth roles."""

from __future__ import annotations

from typing import Any

from strongroom.ui.api import Api, ApiError
from strongroom.ui.web import UiRequest, UiResponse


class AccessViews:
    def __init__(self, api: Api, render: Any) -> None:
        self.api, self.render = api, render

    async def policies(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        names = await self.api.list("sys/policies/acl", token)
        explain: dict[str, Any] | None = None
        path, accessor = req.query.get("path", ""), req.query.get("accessor", "")
        if path:
            try:
                if accessor:
                    body = await self.api.write("sys/capabilities-accessor", token,
                                                {"accessor": accessor, "paths": [path]})
                    who = await self.api.write("auth/token/lookup-accessor", token, {"accessor": accessor})
                    pols = ((who or {}).get("data") or {}).get("policies") or []
                else:
                    body = await self.api.write("sys/capabilities-self", token, {"paths": [path]})
                    me = await self.api.read("auth/token/lookup-self", token)
                    pols = ((me or {}).get("data") or {}).get("policies") or []
                caps = ((body or {}).get("data") or {}).get(path) or (body or {}).get(path) or []
                texts = {}
                for p in pols:
                    if p == "root":
                        texts[p] = "(root: every capability on every path)"
                        continue
                    pol = await self.api.read(f"sys/policies/acl/{p}", token)
                    texts[p] = ((pol or {}).get("data") or {}).get("policy", "")
                relevant = {p: t for p, t in texts.items() if _mentions(t, path) or p == "root"}
                explain = {"path": path, "capabilities": caps, "policies": pols, "relevant": relevant,
                           "allowed": caps not in ([], ["deny"])}
            except ApiError as e:
                explain = {"path": path, "error": str(e)}
        return self.render(req, "policies.html", names=names, explain=explain, path=path, accessor=accessor)

    async def policy(self, req: UiRequest) -> UiResponse:
        body = await self.api.read(f"sys/policies/acl/{req.params['name']}", req.session.token)
        if body is None:
            return self.render(req, "error.html", status=404, message="No such policy")
        return self.render(req, "policy.html", name=req.params["name"], text=(body.get("data") or {}).get("policy"))

    async def tokens(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        rows, error = [], ""
        try:
            for acc in (await self.api.list("auth/token/accessors", token))[:200]:
                info = await self.api.write("auth/token/lookup-accessor", token, {"accessor": acc})
                d = (info or {}).get("data") or {}
                rows.append({"accessor": acc, "display_name": d.get("display_name"), "policies": d.get("policies"),
                             "ttl": d.get("ttl"), "path": d.get("path")})
        except ApiError as e:
            error = str(e)
        leases, lease_error = [], ""
        try:
            leases = await self._leases(token, "")
        except ApiError as e:
            lease_error = str(e)
        return self.render(req, "tokens.html", rows=rows, error=error, leases=leases, lease_error=lease_error)

    async def _leases(self, token: str, prefix: str, depth: int = 0) -> list[str]:
        out: list[str] = []
        for k in await self.api.list(f"sys/leases/lookup/{prefix}", token):
            if k.endswith("/") and depth < 6:
                out.extend(await self._leases(token, prefix + k, depth + 1))
            elif not k.endswith("/"):
                out.append(prefix + k)
        return out[:500]

    async def revoke(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        try:
            if req.form.get("accessor"):
                await self.api.write("auth/token/revoke-accessor", token, {"accessor": req.form["accessor"]})
            elif req.form.get("lease_id"):
                await self.api.write("sys/leases/revoke", token, {"lease_id": req.form["lease_id"]})
        except ApiError as e:
            return self.render(req, "error.html", status=e.status, message=str(e))
        return UiResponse.redirect("/ui/tokens")

    async def auth(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        mounts = ((await self.api.read("sys/auth", token) or {}).get("data")) or {}
        roles: list[dict[str, Any]] = []
        for path, m in mounts.items():
            if m.get("type") != "kubernetes":
                continue
            for name in await self.api.list(f"auth/{path}role", token):
                r = ((await self.api.read(f"auth/{path}role/{name}", token) or {}).get("data")) or {}
                roles.append({"mount": path, "name": name,
                              "service_accounts": r.get("bound_service_account_names") or [],
                              "namespaces": r.get("bound_service_account_namespaces") or [],
                              "policies": r.get("token_policies") or r.get("policies") or [],
                              "ttl": r.get("token_ttl")})
        return self.render(req, "auth.html", mounts=mounts, roles=roles)


def _mentions(policy_text: str, path: str) -> bool:
    """Does a policy have a rule whose literal prefix could cover the path? (for showing the relevant ones)"""
    import re

    for pat in re.findall(r'path\s+"([^"]+)"', policy_text or ""):
        lit = pat.split("+")[0].rstrip("*")
        if path.startswith(lit) or pat.rstrip("*") == path:
            return True
    return False
