"""Git history, ranges and staged changes, against a real `git` repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.scanner.git import parse_diff

AWS = "AKIAT7V4SEH2KVJ72CEU"  # strongroom:allow
GH = "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"  # strongroom:allow
PASSWORD = "Zq8v!nR2kd7W"  # strongroom:allow


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def scan(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["scan", "--no-progress", "--format", "json", *args])
    try:
        return result.exit_code, json.loads(result.output)
    except ValueError:
        return result.exit_code, {"output": result.output}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "app.py").write_text("import os\n\nx = 1\n")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "commit", "-q", "-m", "init")
    (tmp_path / "app.py").write_text(f"import os\nKEY = '{AWS}'\n\nx = 1\n")
    git(tmp_path, "commit", "-q", "-am", "oops")
    (tmp_path / "app.py").write_text("import os\nKEY = os.environ['KEY']\n\nx = 1\n")
    git(tmp_path, "commit", "-q", "-am", "remove the key")
    return tmp_path


def test_history_finds_a_deleted_secret_in_the_commit_that_added_it(repo: Path) -> None:
    oops = git(repo, "rev-parse", "HEAD~1")
    code, report = scan("--git", str(repo))
    assert code == 1
    (f,) = report["findings"]
    assert (f["rule_id"], f["path"], f["line"], f["commit"]) == ("aws-access-key-id", "app.py", 2, oops)
    code, _ = scan(str(repo))  # the working tree itself is clean now
    assert code == 0


def test_history_covers_other_branches(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={GH}\n")
    git(repo, "add", "ci.env")
    git(repo, "commit", "-q", "-m", "ci")
    git(repo, "checkout", "-q", "main")
    _code, report = scan("--git", str(repo))
    assert {f["rule_id"] for f in report["findings"]} == {"aws-access-key-id", "github-token"}


def test_since_scans_only_the_new_commits(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "db.yaml").write_text(f"db:\n  password: {PASSWORD}\n")
    git(repo, "add", "db.yaml")
    git(repo, "commit", "-q", "-m", "db")
    code, report = scan("--since", base, str(repo))
    assert code == 1 and [(f["rule_id"], f["line"]) for f in report["findings"]] == [("generic-password", 2)]
    code, report = scan("--since", "HEAD", str(repo))
    assert code == 0
    code, report = scan("--since", "no-such-ref", str(repo))
    assert code == 2 and "unknown git revision" in report["output"]


def test_staged_diff(repo: Path) -> None:
    (repo / "new.env").write_text(f"TOKEN={GH}\n")
    code, _ = scan("--staged", str(repo))
    assert code == 0  # not staged yet
    git(repo, "add", "new.env")
    code, report = scan("--staged", str(repo))
    assert code == 1 and report["findings"][0]["path"] == "new.env"


def test_not_a_repository(tmp_path: Path) -> None:
    code, report = scan("--git", str(tmp_path))
    assert code == 2 and "not a git repository" in report["output"]
    code, report = scan("--git", "--staged", str(tmp_path))
    assert code == 2


def test_parse_diff_line_numbers() -> None:
    diff = [
        b"\x1estrongroom-commit abc\n",
        b"diff --git a/x b/x\n",
        b"--- a/x\n",
        b"+++ b/x\n",
        b"@@ -1,0 +5,2 @@\n",
        b"+one\n",
        b"+two\n",
        b"@@ -9 +20 @@\n",
        b"-old\n",
        b"+three\n",
        b"diff --git a/gone b/gone\n",
        b"--- a/gone\n",
        b"+++ /dev/null\n",
        b"@@ -1 +0,0 @@\n",
        b"-bye\n",
    ]
    (chunk,) = list(parse_diff(iter(diff)))
    assert (chunk.path, chunk.commit, chunk.lines, chunk.numbers) == ("x", "abc", ["one", "two", "three"], [5, 6, 20])
