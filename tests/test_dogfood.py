"""Strongroom passes its own security tools (docs/security/dogfood.md).

- `strongroom scan` over every tracked file, with the reviewed baseline `.strongroom-scan-baseline.json`, finds
  nothing new. Only `git ls-files` is scanned, so local junk (bench/.venv-scanners, build output) never fails CI.
- `strongroom lint` over deploy/ has no unsuppressed high/critical finding and no broken suppression.
- Every accepted finding (baseline entry or lint suppression) has a one-line justification in the docs page.

Both tools run as the real CLI in a subprocess, exactly as CI or a user would call them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from strongroom.scanner.rules import rule_by_id
from tests.rbaclint.test_deploy_manifests import REVIEWED, _manifests

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / ".strongroom-scan-baseline.json"
DOC = REPO / "docs" / "security" / "dogfood.md"
CLI = [sys.executable, "-c", "from strongroom.cli.main import main; main()"]
REVIEW_HINT = (
    "review each finding (fixture, documented example or vector? if it is a real credential: remove and rotate "
    "it), then `strongroom scan . --baseline .strongroom-scan-baseline.json --update-baseline` and add a line per "
    "new fingerprint to docs/security/dogfood.md"
)


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked-file list is unknown")
    # safe.directory: CI containers often run as another user than the checkout's owner
    git = ["git", "-c", f"safe.directory={REPO}", "ls-files", "-z"]
    out = subprocess.run(git, cwd=REPO, capture_output=True, check=True).stdout
    names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
    # a tracked file deleted in the working tree (not yet committed) is not there to scan
    return [n for n in names if (REPO / n).is_file() and not (REPO / n).is_symlink()]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


def _baseline() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(BASELINE.read_text(encoding="utf-8"))["findings"]
    return entries


def test_tracked_files_pass_the_secret_scanner_with_the_reviewed_baseline() -> None:
    files = _tracked_files()
    assert ".strongroom-scan-baseline.json" not in files or BASELINE.is_file()
    jobs = str(max(2, os.cpu_count() or 1))  # several files per worker process: the multi-process engine
    proc = _run(["scan", "--baseline", str(BASELINE), "--format", "json", "--no-progress", "-j", jobs, *files])
    assert proc.returncode in (0, 1), f"scan failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    new = [f"{f['rule_id']} {f['path']}:{f['line']} {f['preview']} fp={f['fingerprint'][:12]}"
           for f in report["findings"]]
    assert not new, "new secret-scanner findings; " + REVIEW_HINT + ":\n" + "\n".join(new)
    assert proc.returncode == 0 and not report["errors"], report["errors"]
    assert report["stats"]["files"] > 100  # the scan did see the repository
    assert report["stats"]["baseline_suppressed"] > 0


def test_the_baseline_does_not_hide_a_new_secret(tmp_path: Path) -> None:
    # the same command on a file with a fresh random credential must fail: the harness is not vacuous
    planted = tmp_path / "settings.env"
    planted.write_text("DB_" + "PASSWORD=" + secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    proc = _run(["scan", "--baseline", str(BASELINE), "--format", "json", "--no-progress", str(planted)])
    assert proc.returncode == 1, proc.stderr[-2000:]
    (finding,) = json.loads(proc.stdout)["findings"]
    assert finding["rule_id"] == "generic-password" and finding["line"] == 1
    assert planted.read_text(encoding="utf-8").split("=", 1)[1].strip() not in proc.stdout + proc.stderr


def test_baseline_stores_only_hashes_of_known_rules() -> None:
    body = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert body["version"] == 1 and body["hash"] == "sha256(rule_id, secret)"
    seen: set[str] = set()
    for entry in body["findings"]:
        assert set(entry) == {"fingerprint", "rule", "path", "line"}, entry
        assert re.fullmatch(r"[0-9a-f]{64}", entry["fingerprint"]), entry
        assert entry["fingerprint"] not in seen
        seen.add(entry["fingerprint"])
        rule_by_id(entry["rule"])  # raises for an unknown rule
        assert isinstance(entry["line"], int) and entry["line"] >= 1, entry


def test_every_baselined_finding_is_justified_in_the_docs() -> None:
    doc = DOC.read_text(encoding="utf-8")
    missing = [f"{e['fingerprint'][:12]} {e['rule']} {e['path']}" for e in _baseline()
               if f"`{e['fingerprint'][:12]}`" not in doc]
    assert not missing, f"add a justification row to {DOC.relative_to(REPO)} for: {missing}"


@cache
def _lint() -> dict[str, Any]:
    files = [str(p.relative_to(REPO)) for p in _manifests()]
    if not files:
        pytest.skip("deploy/ has no manifests yet")
    proc = _run(["lint", "check", "--format", "json", "--fail-on", "high", *files])
    assert proc.returncode in (0, 1), f"lint failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    assert not report["errors"], report["errors"]
    return report


def test_deploy_manifests_pass_the_linter_cli() -> None:
    report = _lint()
    high = [f for f in report["findings"] if f["severity"] in ("high", "critical")
            and (f["rule"], f["object"]) not in REVIEWED]
    assert not high, "\n".join(f"{f['severity']} {f['rule']} {f['source']}:{f['line']}: {f['message']}" for f in high)
    broken = [f for f in report["findings"] if f["rule"] == "invalid-suppression"]
    assert not broken, "\n".join(f"{f['source']}:{f['line']}: {f['message']}" for f in broken)
    for f in report["suppressed"]:
        assert len(f["suppressed"]) >= 20, f"suppression of {f['rule']} on {f['object']} needs a real reason"


def test_every_lint_suppression_and_pending_review_is_justified_in_the_docs() -> None:
    rows = DOC.read_text(encoding="utf-8").splitlines()
    accepted = {(f["rule"], f["object"]) for f in _lint()["suppressed"]} | set(REVIEWED)
    missing = sorted(f"{rule} {obj}" for rule, obj in accepted
                     if not any(f"`{rule}`" in row and f"`{obj}`" in row for row in rows))
    assert not missing, f"add a justification row to {DOC.relative_to(REPO)} for: {missing}"
