"""The published pre-commit hooks run the command they declare, as pre-commit would."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strongroom.cli.main import cli
from tests.scanner.test_git import GH, git

HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}


def run_entry(entry: str, files: list[str]) -> int:
    argv = shlex.split(entry)
    assert argv[0] == "strongroom"
    return CliRunner().invoke(cli, [*argv[1:], *files]).exit_code


def test_manifest_shape() -> None:
    for hook in hooks().values():
        assert {"id", "name", "entry", "language"} <= hook.keys()
        assert hook["language"] == "python"


def test_staged_hook_blocks_a_staged_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = hooks()["strongroom-scan"]
    git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("x = 1\n")
    git(tmp_path, "add", "ok.py")
    assert run_entry(hook["entry"], []) == 0
    (tmp_path / "ci.env").write_text(f"GITHUB_TOKEN={GH}\n")
    git(tmp_path, "add", "ci.env")
    assert run_entry(hook["entry"], []) == 1


def test_files_hook_scans_the_files_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = hooks()["strongroom-scan-files"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.env").write_text(f"GITHUB_TOKEN={GH}\n")
    (tmp_path / "b.py").write_text("x = 1\n")
    assert run_entry(hook["entry"], ["b.py"]) == 0
    assert run_entry(hook["entry"], ["a.env", "b.py"]) == 1
