"""RBAC and manifest linter: loader (files, Helm output, cluster) -> permission model -> checks (data) -> reports.

Typical use::

    loaded = load_paths(["deploy/"])
    report = lint(loaded.objects, errors=loaded.errors)
"""

from strongroom.rbaclint.base import Check, Finding, Severity
from strongroom.rbaclint.checks import CHECKS
from strongroom.rbaclint.engine import Report, lint, select_checks
from strongroom.rbaclint.loader import K8sObject, LoadError, LoadResult, load_paths, load_text
from strongroom.rbaclint.model import RbacModel

__all__ = [
    "CHECKS",
    "Check",
    "Finding",
    "K8sObject",
    "LoadError",
    "LoadResult",
    "RbacModel",
    "Report",
    "Severity",
    "lint",
    "load_paths",
    "load_text",
    "select_checks",
]
