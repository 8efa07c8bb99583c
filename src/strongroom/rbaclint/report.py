"""Reporters: a rich table for people, JSON for machines, SARIF 2.1.0 for code-scanning UIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from strongroom import __version__
from strongroom.rbaclint.base import Finding, Severity
from strongroom.rbaclint.engine import Report

__all__ = ["render_human", "to_json", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads `security-severity` (0-10) to rank security results
_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def summary(report: Report) -> dict[str, int]:
    counts = {str(s): 0 for s in sorted(Severity, reverse=True)}
    for f in report.findings:
        counts[str(f.severity)] += 1
    return counts


def to_json(report: Report) -> bytes:
    doc = {
        "tool": "strongroom lint",
        "version": __version__,
        "objects": report.objects,
        "summary": summary(report),
        "findings": [f.to_dict() for f in report.findings],
        "suppressed": [f.to_dict() for f in report.suppressed],
        "errors": [{"source": e.source, "line": e.line, "message": e.message} for e in report.errors],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def _uri(source: str) -> str:
    path = Path(source)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_uri()
    return path.as_posix()


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "properties": {"severity": str(finding.severity)},
    }
    obj = finding.obj
    if obj is not None:
        location: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": obj.ref, "kind": "object"}]}
        if not obj.from_cluster and obj.source != "<stdin>":
            location["physicalLocation"] = {
                "artifactLocation": {"uri": _uri(obj.source)},
                "region": {"startLine": max(obj.line, 1)},
            }
        result["locations"] = [location]
        result["partialFingerprints"] = {"objectRef/v1": f"{finding.rule_id}:{obj.ref}"}
    if finding.suppressed_by is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.suppressed_by}]
    return result


def to_sarif(report: Report) -> bytes:
    rules = []
    rule_index: dict[str, int] = {}
    for i, check in enumerate(report.checks):
        rule_index[check.id] = i
        rules.append(
            {
                "id": check.id,
                "name": "".join(part.title() for part in check.id.split("-")),
                "shortDescription": {"text": check.title},
                "fullDescription": {"text": check.title},
                "help": {"text": check.hint, "markdown": check.hint},
                "defaultConfiguration": {"level": _LEVEL[check.severity]},
                "properties": {
                    "security-severity": _SCORE[check.severity],
                    "tags": ["security", check.category],
                },
            }
        )
    results = [_result(f, rule_index) for f in [*report.findings, *report.suppressed] if f.rule_id in rule_index]
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(e.source)},
                        "region": {"startLine": max(e.line, 1)},
                    }
                }
            ],
        }
        for e in report.errors
    ]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "strongroom-lint",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}
                ],
                "results": results,
            }
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def render_human(report: Report, console: Console, show_suppressed: bool = False) -> None:
    for err in report.errors:
        console.print(f"[red]error[/red] {escape(str(err))}", highlight=False)
    shown = [*report.findings, *(report.suppressed if show_suppressed else [])]
    if shown:
        table = Table(show_lines=False, expand=False)
        table.add_column("Severity")
        table.add_column("Rule", overflow="fold")
        table.add_column("Where", overflow="fold")
        table.add_column("Finding", overflow="fold")
        for f in shown:
            sev = f"[{_STYLE[f.severity]}]{f.severity}[/]"
            msg = escape(f.message) + (f"\n[dim]fix: {escape(f.hint)}[/dim]" if f.hint else "")
            if f.suppressed_by is not None:
                msg += f"\n[dim]suppressed: {escape(f.suppressed_by)}[/dim]"
            table.add_row(sev, f.rule_id, escape(f.location), msg)
        console.print(table)
    counts = ", ".join(f"{n} {s}" for s, n in summary(report).items() if n)
    console.print(
        f"{report.objects} objects, {len(report.findings)} findings"
        + (f" ({counts})" if counts else "")
        + (f", {len(report.suppressed)} suppressed" if report.suppressed else "")
        + (f", {len(report.errors)} input errors" if report.errors else ""),
        highlight=False,
    )
