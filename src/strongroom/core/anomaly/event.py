"""What the request pipeline tells the detector about each request: small, built in O(1), no secrets.

The raw token never enters an event; the accessor does (it cannot be used to authenticate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strongroom.core.request import ApiRequest
    from strongroom.core.router import Route
    from strongroom.core.tokens.entry import TokenEntry
    from strongroom.sdk.operations import Operation

OUTCOMES = ("ok", "denied", "auth_failed", "error")


@dataclass(slots=True)
class RequestEvent:
    time: float
    path: str
    operation: str
    outcome: str  # ok | denied | auth_failed | error
    status: int = 200
    accessor: str = ""
    display_name: str = ""
    policies: tuple[str, ...] = ()
    entity_id: str = ""
    k8s_service_account: str = ""
    k8s_namespace: str = ""
    role: str = ""
    remote_address: str = ""
    mount: str = ""
    mount_type: str = ""
    mount_kind: str = ""  # secret | auth

    @property
    def identity(self) -> str:
        """A stable name for who is calling, surviving token renewal and re-login where possible."""
        if self.entity_id:
            return f"entity:{self.entity_id}"
        if self.k8s_service_account:
            return f"k8s:{self.k8s_namespace}/{self.k8s_service_account}"
        if self.role:
            return f"role:{self.display_name}/{self.role}"
        if self.display_name and self.display_name not in ("token", "token-token", "root", ""):  # generic names
            return f"name:{self.display_name}"
        if self.accessor:
            return f"accessor:{self.accessor}"
        return f"remote:{self.remote_address}"

    def who(self) -> dict[str, object]:
        """The caller as alerts show it: accessor (never the token), names, policies, address."""
        out: dict[str, object] = {"identity": self.identity, "accessor": self.accessor,
                                  "display_name": self.display_name, "policies": list(self.policies),
                                  "remote_address": self.remote_address}
        if self.role:
            out["role"] = self.role
        if self.k8s_service_account:
            out["kubernetes"] = {"namespace": self.k8s_namespace, "service_account": self.k8s_service_account}
        return out


def from_parts(path: str, operation: Operation, remote_address: str, role_hint: object, route: Route | None,
               entry: TokenEntry | None, outcome: str, status: int, now: float) -> RequestEvent:
    """`role_hint`: a failed login's `role` field (a role *name* for k8s/jwt; never role_id or secret_id)."""
    meta = entry.meta if entry is not None and entry.meta else {}
    role = ""
    if entry is not None:
        role = meta.get("role") or meta.get("role_name") or entry.role
    elif isinstance(role_hint, str):
        role = role_hint
    return RequestEvent(
        time=now, path=path.lstrip("/"), operation=operation.value, outcome=outcome, status=status,
        accessor=entry.accessor if entry is not None else "",
        display_name=entry.display_name if entry is not None else "",
        policies=tuple(entry.policies) if entry is not None else (),
        entity_id=entry.entity_id if entry is not None else "",
        k8s_service_account=meta.get("service_account_name", ""),
        k8s_namespace=meta.get("service_account_namespace", ""), role=role, remote_address=remote_address,
        mount=route.prefix if route is not None else "", mount_type=route.entry.type if route is not None else "",
        mount_kind=route.entry.kind if route is not None else "")


def from_request(api: ApiRequest, route: Route | None, entry: TokenEntry | None, outcome: str, status: int,
                 now: float) -> RequestEvent:
    hint = api.data.get("role") if outcome == "auth_failed" else None
    return from_parts(api.path, api.operation, api.remote_addr, hint, route, entry, outcome, status, now)
