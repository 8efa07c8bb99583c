"""Run checks over loaded objects and apply inline suppressions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.checks import CHECKS
from strongroom.rbaclint.loader import K8sObject, LoadError
from strongroom.rbaclint.suppress import parse

__all__ = ["Report", "lint"]


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)  # active (not suppressed)
    suppressed: list[Finding] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    objects: int = 0
    checks: Sequence[Check] = ()

    def at_least(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= severity]


def select_checks(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Check]:
    only_set, skip_set = set(only), set(skip)
    known = {c.id for c in CHECKS}
    unknown = (only_set | skip_set) - known
    if unknown:
        raise ValueError(f"unknown check id(s): {', '.join(sorted(unknown))}")
    return [c for c in CHECKS if (not only_set or c.id in only_set) and c.id not in skip_set]


def lint(
    objects: Iterable[K8sObject],
    checks: Sequence[Check] | None = None,
    errors: Iterable[LoadError] = (),
    progress: Callable[[Check], None] | None = None,
) -> Report:
    ctx = Context(objects)
    report = Report(errors=list(errors), objects=len(ctx.objects), checks=checks if checks is not None else CHECKS)
    suppressions: dict[int, dict[str, str]] = {}
    for obj in ctx.objects:
        good, _ = parse(obj)
        if good:
            suppressions[id(obj)] = {s.rule_id: s.reason for s in good}
    for check in report.checks:
        for finding in check.run(ctx):
            reason = suppressions.get(id(finding.obj), {}).get(finding.rule_id) if finding.obj else None
            if reason is not None and finding.rule_id != "invalid-suppression":
                finding.suppressed_by = reason
                report.suppressed.append(finding)
            else:
                report.findings.append(finding)
        if progress is not None:
            progress(check)
    report.findings.sort(key=lambda f: (-f.severity, f.rule_id, f.location))
    return report
