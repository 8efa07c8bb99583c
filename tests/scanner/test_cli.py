"""`strongroom scan` end to end through click: exit codes, formats, baseline, walking rules."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.scanner import runner

AWS = "AKIAT7V4SEH2KVJ72CEU"  # strongroom:allow
PASSWORD = "Zq8v!nR2kd7W"  # strongroom:allow
SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", "--no-progress", *args], input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.py").write_text(f'DB_PASSWORD = "{PASSWORD}"\n')
    (tmp_path / "app" / "clean.py").write_text("print('hello')\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.env").write_text(f"AWS_ACCESS_KEY_ID={AWS}\n")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "logo.bin").write_bytes(b"\x00\x01" + AWS.encode())
    return tmp_path


def test_help() -> None:
    code, out = run("--help")
    assert code == 0 and "--staged" in out and "--baseline" in out and "sarif" in out


def test_exit_codes_and_gitignore(tree: Path) -> None:
    code, out = run(str(tree / "app" / "clean.py"))
    assert code == 0
    code, out = run(str(tree), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert [(f["rule_id"], Path(f["path"]).name) for f in report["findings"]] == [("generic-password", "settings.py")]
    assert report["stats"]["skipped_binary"] == 1 and report["stats"]["skipped_ignored"] == 1
    code, out = run(str(tree), "--no-gitignore", "--format", "json")
    assert {f["rule_id"] for f in json.loads(out)["findings"]} == {"generic-password", "aws-access-key-id"}
    code, out = run(str(tree / "nope"))
    assert code == 2 and "no such file" in out


def test_exclude_and_max_bytes(tree: Path) -> None:
    code, _ = run(str(tree), "--exclude", "app/settings.py")
    assert code == 0
    code, out = run(str(tree), "--max-bytes", "10", "--format", "json")
    assert code == 0 and json.loads(out)["stats"]["skipped_large"] >= 1


def test_stdin_and_no_secret_in_any_output(tree: Path) -> None:
    for fmt in ("human", "json", "sarif"):
        code, out = run("-", "--format", fmt, stdin=f"key = {AWS}\npassword: {PASSWORD}\n")
        assert code == 1
        assert AWS not in out and PASSWORD not in out


def test_sarif_validates_against_the_2_1_0_schema(tree: Path) -> None:
    code, out = run(str(tree), "--no-gitignore", "--format", "sarif")
    assert code == 1
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    results = doc["runs"][0]["results"]
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in results} == {"generic-password", "aws-access-key-id"}
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_output_file(tree: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, _out = run(str(tree / "app"), "--format", "json", "-o", str(target))
    assert code == 1 and json.loads(target.read_text())["stats"]["findings"] == 1


def test_baseline_round_trip(tree: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, _ = run(str(tree / "app"), "--baseline", str(baseline), "--update-baseline")
    assert code == 0
    stored = baseline.read_text()
    assert PASSWORD not in stored and json.loads(stored)["findings"][0]["rule"] == "generic-password"
    code, out = run(str(tree / "app"), "--baseline", str(baseline), "--format", "json")
    assert code == 0 and json.loads(out)["stats"]["baseline_suppressed"] == 1
    # a new secret is still reported; the accepted one stays quiet even after it moves
    (tree / "app" / "settings.py").write_text(f'\n\nDB_PASSWORD = "{PASSWORD}"\nOTHER = "{AWS}"\n')
    code, out = run(str(tree / "app"), "--baseline", str(baseline), "--format", "json")
    assert code == 1 and [f["rule_id"] for f in json.loads(out)["findings"]] == ["aws-access-key-id"]


def test_bad_baseline_is_a_clear_error_and_is_left_alone(tree: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, out = run(str(tree), "--baseline", str(baseline))
    assert code == 2 and "not found" in out
    baseline.write_text("{not json")
    code, out = run(str(tree), "--baseline", str(baseline))
    assert code == 2 and "not a readable JSON baseline" in out
    assert baseline.read_text() == "{not json"
    baseline.write_text(json.dumps({"version": 1, "findings": [{"fingerprint": "short"}]}))
    code, out = run(str(tree), "--baseline", str(baseline))
    assert code == 2 and "malformed" in out
    code, out = run(str(tree), "--update-baseline")
    assert code == 2 and "needs --baseline" in out


def test_unreadable_file_is_reported_and_scan_continues(tree: Path) -> None:
    files = [(str(tree / "vanished.py"), 10), (str(tree / "app" / "settings.py"), 40)]
    result = runner.scan_files(files, jobs=1)
    assert [f.rule_id for f in result.findings] == ["generic-password"]
    assert len(result.errors) == 1 and "vanished.py" in result.errors[0]


def test_parallel_scan_matches_serial(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"f{i}.py").write_text(("x = 1\n" * 2000) + f'db_password = "{PASSWORD}{i}"\n')
    serial = json.loads(run(str(tmp_path), "-j", "1", "--format", "json")[1])["findings"]
    parallel = json.loads(run(str(tmp_path), "-j", "2", "--format", "json")[1])["findings"]
    assert serial == parallel and len(serial) == 40


def test_missing_path_next_to_a_clean_one_exits_2(tree: Path) -> None:
    code, out = run(str(tree / "app" / "clean.py"), str(tree / "missing"), "--format", "json")
    assert code == 2 and json.loads(out)["errors"] == [f"{tree / 'missing'}: no such file or directory"]


def test_mutually_exclusive_git_modes(tree: Path) -> None:
    code, out = run("--git", "--staged", str(tree))
    assert code == 2 and "choose one" in out
