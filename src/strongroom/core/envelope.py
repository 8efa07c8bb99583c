"""The Vault JSON response envelope, built in one place (the server and response wrapping both use it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strongroom.core.request import ApiResult


def envelope(result: ApiResult, *, wrapped: bool = False) -> dict[str, Any]:
    resp = result.response
    if result.wrap_info is not None and not wrapped:
        return {"request_id": result.request_id, "lease_id": "", "renewable": False, "lease_duration": 0,
                "data": None, "wrap_info": result.wrap_info, "warnings": None, "auth": None}
    body: dict[str, Any] = {
        "request_id": result.request_id,
        "lease_id": result.lease_id,
        "renewable": result.renewable,
        "lease_duration": result.lease_duration,
        "data": resp.data if resp is not None else None,
        "wrap_info": None,
        "warnings": (resp.warnings or None) if resp is not None else None,
        "auth": result.auth,
    }
    if resp is not None and resp.data is not None and resp.top_level:
        # legacy sys/ endpoints also answer with data at the top level (hvac reads both)
        for k, v in resp.data.items():
            body.setdefault(k, v)
    return body
