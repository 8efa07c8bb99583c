"""Vault-compatible audit entries: one `request` and one `response` line per request.

Built once per request as plain dicts; each device then hashes and formats its own copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strongroom.core import clock

if TYPE_CHECKING:
    from strongroom.core.request import ApiRequest, ApiResult
    from strongroom.core.router import Route
    from strongroom.core.tokens.entry import TokenEntry


def auth_section(token: str, e: TokenEntry | None) -> dict[str, Any]:
    if e is None:
        return {"client_token": token or "", "accessor": "", "display_name": "", "policies": None,
                "token_policies": None, "metadata": None, "entity_id": "", "token_type": ""}
    out: dict[str, Any] = {
        "client_token": token, "accessor": e.accessor, "display_name": e.display_name, "policies": e.policies,
        "token_policies": e.policies, "metadata": e.meta or None, "entity_id": e.entity_id,
        "token_type": e.type, "token_ttl": e.ttl, "token_issue_time": clock.rfc3339(e.issue_time),
    }
    role = e.meta.get("role") if e.meta else None
    if role:
        out["role"] = role
    if e.meta and "service_account_name" in e.meta:
        out["kubernetes"] = {"service_account": e.meta.get("service_account_name", ""),
                             "namespace": e.meta.get("service_account_namespace", ""),
                             "pod": e.meta.get("pod_name", "")}
    return out


def request_section(api: ApiRequest, route: Route | None, e: TokenEntry | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": api.id, "operation": api.operation.value, "path": api.path.lstrip("/"),
        "client_token": api.token or "", "client_token_accessor": e.accessor if e else "",
        "data": api.data or None, "remote_address": api.remote_addr, "remote_port": api.remote_port,
        "namespace": {"id": "root"},
    }
    if route is not None:
        out.update({"mount_point": route.prefix, "mount_type": route.entry.type,
                    "mount_accessor": route.entry.accessor, "mount_class": route.entry.kind})
    if api.wrap_ttl:
        out["wrap_ttl"] = api.wrap_ttl
    return out


def request_entry(api: ApiRequest, route: Route | None, e: TokenEntry | None, error: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"time": clock.rfc3339(clock.now()), "type": "request",
                             "auth": auth_section(api.token, e), "request": request_section(api, route, e)}
    if error:
        entry["error"] = error
    return entry


def response_entry(api: ApiRequest, route: Route | None, e: TokenEntry | None, result: ApiResult | None,
                   error: str = "") -> dict[str, Any]:
    entry = request_entry(api, route, e, error)
    entry["type"] = "response"
    resp: dict[str, Any] = {}
    if route is not None:
        resp.update({"mount_point": route.prefix, "mount_type": route.entry.type,
                     "mount_accessor": route.entry.accessor})
    if result is not None:
        r = result.response
        if r is not None and r.data is not None:
            resp["data"] = r.data
        if result.auth is not None:
            resp["auth"] = {k: result.auth.get(k) for k in ("client_token", "accessor", "policies",
                                                            "token_policies", "metadata", "lease_duration",
                                                            "renewable", "entity_id", "token_type")}
        if result.lease_id:
            resp["secret"] = {"lease_id": result.lease_id}
        if result.wrap_info is not None:
            resp["wrap_info"] = {k: result.wrap_info.get(k) for k in ("token", "accessor", "ttl", "creation_time",
                                                                      "creation_path", "wrapped_accessor")}
        if r is not None and r.warnings:
            resp["warnings"] = r.warnings
    entry["response"] = resp
    return entry
