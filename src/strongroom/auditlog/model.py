"""A flat view of one audit entry (request, response or alert), the unit that filters, summaries and
exporters work on. Values are what the device wrote: tokens and accessors appear as their HMACs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass
class Record:
    time: str
    timestamp: float
    type: str  # request | response | alert
    request_id: str = ""
    operation: str = ""
    path: str = ""
    mount_point: str = ""
    mount_type: str = ""
    accessor: str = ""
    display_name: str = ""
    policies: tuple[str, ...] = ()
    namespace: str = ""
    service_account: str = ""
    role: str = ""
    remote_address: str = ""
    error: str = ""
    rule: str = ""  # alerts
    message: str = ""  # alerts

    @property
    def identity(self) -> str:
        if self.service_account:
            return f"k8s:{self.namespace}/{self.service_account}"
        if self.display_name:
            return self.display_name + (f" ({self.role})" if self.role else "")
        return self.accessor or self.remote_address or "(anonymous)"

    @property
    def ok(self) -> bool:
        return not self.error

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["policies"] = list(self.policies)
        d["identity"] = self.identity
        return d


def parse_time(value: str) -> float:
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def record(entry: dict[str, Any]) -> Record:
    auth, req = _dict(entry.get("auth")), _dict(entry.get("request"))
    k8s, meta = _dict(auth.get("kubernetes")), _dict(auth.get("metadata"))
    t = _str(entry.get("time"))
    r = Record(time=t, timestamp=parse_time(t), type=_str(entry.get("type")),
               request_id=_str(req.get("id")), operation=_str(req.get("operation")), path=_str(req.get("path")),
               mount_point=_str(req.get("mount_point")), mount_type=_str(req.get("mount_type")),
               accessor=_str(auth.get("accessor")) or _str(req.get("client_token_accessor")),
               display_name=_str(auth.get("display_name")),
               policies=tuple(p for p in (auth.get("policies") or []) if isinstance(p, str)),
               namespace=_str(k8s.get("namespace")) or _str(meta.get("service_account_namespace")),
               service_account=_str(k8s.get("service_account")) or _str(meta.get("service_account_name")),
               role=_str(auth.get("role")) or _str(meta.get("role")),
               remote_address=_str(req.get("remote_address")) or _str(auth.get("remote_address")),
               error=_str(entry.get("error")))
    alert = entry.get("alert")
    if r.type == "alert" and isinstance(alert, dict):
        r.rule, r.message = _str(alert.get("rule")), _str(alert.get("message"))
        areq = _dict(alert.get("request"))
        r.path, r.operation = _str(areq.get("path")), _str(areq.get("operation"))
        r.request_id = _str(alert.get("id"))
    return r
