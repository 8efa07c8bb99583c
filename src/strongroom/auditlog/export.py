"""Exports for SIEMs: JSON Lines (the entries as written), ArcSight CEF, and an OCSF API Activity (class 6003)
shape. Values are exported as the device wrote them (HMAC'd), so an export never reveals more than the log."""

from __future__ import annotations

from typing import Any

import orjson

from strongroom import __version__
from strongroom.auditlog.model import Record

OCSF_VERSION = "1.1.0"
_ACTIVITY = {"create": 1, "read": 2, "list": 2, "update": 3, "patch": 3, "delete": 4}
_ACTIVITY_NAME = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"}


def jsonl(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry) + b"\n"


def _cef_header(v: str) -> str:
    return v.replace("\\", "\\\\").replace("|", "\\|")


def _cef_ext(v: str) -> str:
    return v.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def cef(r: Record) -> str:
    """`CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value ...`"""
    if r.type == "alert":
        sig, name, sev = f"alert:{r.rule}", f"Anomaly alert {r.rule}", 8
    else:
        sig = f"{r.type}:{r.operation}"
        name = f"{r.operation} {r.mount_type or 'request'}".strip()
        sev = 5 if r.error else 3
    ext = {"rt": str(int(r.timestamp * 1000)), "act": r.operation, "request": r.path, "suser": r.display_name,
           "src": r.remote_address, "outcome": "failure" if r.error else "success", "msg": r.error or r.message,
           "externalId": r.request_id, "cs1Label": "accessor", "cs1": r.accessor,
           "cs2Label": "k8sNamespace", "cs2": r.namespace, "cs3Label": "k8sServiceAccount", "cs3": r.service_account,
           "cs4Label": "mountType", "cs4": r.mount_type, "cs5Label": "policies", "cs5": ",".join(r.policies)}
    body = " ".join(f"{k}={_cef_ext(v)}" for k, v in ext.items() if v)
    head = "|".join(_cef_header(x) for x in ("CEF:0", "Strongroom", "Strongroom", __version__, sig, name))
    return f"{head}|{sev}|{body}"


def ocsf(r: Record) -> dict[str, Any]:
    """OCSF API Activity (category 6 Application Activity, class 6003); alerts keep the class, severity High."""
    activity = _ACTIVITY.get(r.operation, 99)
    out: dict[str, Any] = {
        "category_uid": 6, "category_name": "Application Activity", "class_uid": 6003, "class_name": "API Activity",
        "activity_id": activity, "activity_name": _ACTIVITY_NAME[activity], "type_uid": 600300 + activity,
        "time": int(r.timestamp * 1000), "severity_id": 4 if r.type == "alert" else (3 if r.error else 1),
        "status_id": 2 if r.error else 1, "status": "Failure" if r.error else "Success",
        "metadata": {"version": OCSF_VERSION, "uid": r.request_id,
                     "product": {"name": "Strongroom", "vendor_name": "Strongroom", "version": __version__},
                     "log_name": r.type},
        "api": {"operation": r.operation, "request": {"uid": r.request_id}, "service": {"name": r.mount_type}},
        "actor": {"user": {"name": r.display_name, "uid": r.accessor, "groups": [{"name": p} for p in r.policies]}},
        "src_endpoint": {"ip": r.remote_address} if r.remote_address else {},
        "resources": [{"name": r.path, "type": r.mount_type, "group": {"name": r.mount_point}}] if r.path else [],
    }
    if r.error:
        out["status_detail"] = r.error
    if r.service_account:
        out["actor"]["user"]["account"] = {"name": r.service_account, "uid": r.namespace}
    if r.type == "alert":
        out["message"] = r.message
        out["unmapped"] = {"rule": r.rule}
    return out
