"""The registry of checks. Built-in checks register here the same way a plugin's would."""

from __future__ import annotations

from strongroom.rbaclint.base import Check
from strongroom.rbaclint.checks import apiserver, bindings, rbac, secrets, workloads

__all__ = ["CHECKS", "CHECK_IDS", "get"]


def _all() -> list[Check]:
    from strongroom.rbaclint.suppress import CHECK as SUPPRESSION_CHECK

    checks = [
        *rbac.CHECKS,
        *bindings.CHECKS,
        *workloads.CHECKS,
        *secrets.CHECKS,
        *apiserver.CHECKS,
        SUPPRESSION_CHECK,
    ]
    ids = [c.id for c in checks]
    if len(ids) != len(set(ids)):
        raise RuntimeError("duplicate check id")
    return checks


CHECKS: list[Check] = _all()
CHECK_IDS: frozenset[str] = frozenset(c.id for c in CHECKS)


def get(check_id: str) -> Check:
    for check in CHECKS:
        if check.id == check_id:
            return check
    raise KeyError(check_id)
