"""Renderers: a rich table for people, JSON for scripts, SARIF 2.1.0 for code-scanning UIs."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from strongroom import __version__
from strongroom.scanner.engine import Finding
from strongroom.scanner.rules import RULES
from strongroom.scanner.runner import ScanResult

__all__ = ["render_human", "to_json", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _stats(result: ScanResult, suppressed: int) -> dict[str, Any]:
    return {
        "files": result.files,
        "bytes": result.bytes,
        "findings": len(result.findings),
        "baseline_suppressed": suppressed,
        "skipped_binary": result.skipped_binary,
        "errors": len(result.errors),
    }


def to_json(result: ScanResult, suppressed: int = 0, extra: dict[str, int] | None = None) -> str:
    body = {
        "version": 1,
        "tool": {"name": "strongroom scan", "version": __version__},
        "stats": {**_stats(result, suppressed), **(extra or {})},
        "findings": [f.to_dict() for f in result.findings],
        "errors": result.errors,
    }
    return json.dumps(body, indent=2)


def _sarif_result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.line, "startColumn": f.column, "endLine": f.end_line}
    where = f" in commit {f.commit[:12]}" if f.commit else ""
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": "error",
        "message": {"text": f"{f.description}{where}: {f.preview}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.path.removeprefix("./")}, "region": region}}],
        "partialFingerprints": {"strongroomFingerprint/v1": f.fingerprint},
    }
    if f.commit:
        out["properties"] = {"commit": f.commit}
    return out


def to_sarif(result: ScanResult) -> str:
    index = {rule.id: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.id,
            "name": "".join(part.capitalize() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.description},
            "fullDescription": {"text": rule.description},
            "help": {"text": rule.remediation},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret"]},
        }
        for rule in RULES
    ]
    body = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "strongroom-scan",
                        "version": __version__,
                        "informationUri": "https://github.com/strongroom/strongroom",
                        "rules": rules,
                    }
                },
                "results": [_sarif_result(f, index) for f in result.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(body, indent=2)


def render_human(console: Console, result: ScanResult, suppressed: int = 0) -> None:
    if result.findings:
        table = Table(title="Leaked credentials", show_lines=False, expand=False)
        table.add_column("Rule", style="bold red", no_wrap=True)
        table.add_column("Location", style="cyan", overflow="fold")
        table.add_column("Preview (redacted)", overflow="fold")
        for f in result.findings:
            where = f"{f.path}:{f.line}" + (f" @{f.commit[:10]}" if f.commit else "")
            preview = Text(f.preview)
            if f.source:
                preview.append(f"  [{f.source}]", style="dim")
            table.add_row(f.rule_id, where, preview)
        console.print(table)
    mb = result.bytes / 1e6
    summary = f"{len(result.findings)} finding(s) in {result.files} file(s)/chunk(s), {mb:.1f} MB scanned"
    if suppressed:
        summary += f", {suppressed} accepted by the baseline"
    if result.skipped_binary:
        summary += f", {result.skipped_binary} binary skipped"
    console.print(summary, style="bold red" if result.findings else "bold green")
    for err in result.errors:
        console.print(f"error: {err}", style="yellow")
