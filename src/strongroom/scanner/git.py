"""Git sources: every commit's added lines (`git log -p`), a range (`REF..HEAD`), or the staged diff.

We drive the real `git` binary and parse its unified diff with zero context: each (commit, file) pair
becomes one chunk holding only the added lines plus their line numbers in the new file, so a secret
added and later deleted is still found in the commit that added it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["DiffChunk", "GitError", "history_chunks", "parse_diff", "staged_chunks"]

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_COMMIT_MARK = b"\x1estrongroom-commit "
_DIFF_FLAGS = ["--no-color", "--no-ext-diff", "--no-textconv", "-U0", "--no-renames", "--diff-filter=AM"]


class GitError(Exception):
    """git is missing, the path is not a repository, or a ref does not exist."""


@dataclass
class DiffChunk:
    path: str
    commit: str | None
    lines: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_diff(stream: Iterator[bytes]) -> Iterator[DiffChunk]:
    """Parse `git log -p` / `git diff` output (with our commit marker) into chunks of added lines."""
    commit: str | None = None
    chunk: DiffChunk | None = None
    next_line = 0
    for raw in stream:
        line = raw.rstrip(b"\n")
        if line.startswith(_COMMIT_MARK):
            if chunk is not None and chunk.lines:
                yield chunk
            chunk = None
            commit = line[len(_COMMIT_MARK) :].decode("ascii", "replace").strip()
        elif line.startswith(b"diff --git "):
            if chunk is not None and chunk.lines:
                yield chunk
            chunk = None
        elif line.startswith(b"+++ "):
            target = line[4:].decode("utf-8", "replace")
            if target != "/dev/null":
                path = target[2:] if target.startswith("b/") else target
                chunk = DiffChunk(path=path.strip('"'), commit=commit)
        elif line.startswith(b"@@"):
            m = _HUNK.match(line)
            next_line = int(m.group(1)) if m else 0
        elif chunk is not None and line.startswith(b"+"):
            chunk.lines.append(line[1:].decode("utf-8", "replace"))
            chunk.numbers.append(next_line)
            next_line += 1
    if chunk is not None and chunk.lines:
        yield chunk


def _run(repo: str, args: list[str]) -> Iterator[bytes]:
    try:
        proc = subprocess.Popen(
            ["git", "-C", repo, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    assert proc.stdout is not None and proc.stderr is not None
    yield from proc.stdout
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        raise GitError(err.splitlines()[-1] if err else f"git {args[0]} failed")


def check_repo(repo: str) -> None:
    try:
        out = subprocess.run(["git", "-C", repo, "rev-parse", "--git-dir"], capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if out.returncode != 0:
        raise GitError(f"{repo}: not a git repository")


def history_chunks(repo: str, since: str | None = None, all_refs: bool = True) -> Iterator[DiffChunk]:
    """Added lines of every commit reachable from all refs, or of `since..HEAD` only."""
    check_repo(repo)
    if since is not None:
        verify = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if verify.returncode != 0:
            raise GitError(f"unknown git revision: {since}")
        revs = [f"{since}..HEAD"]
    else:
        revs = ["--all"] if all_refs else ["HEAD"]
    args = ["log", "-p", *_DIFF_FLAGS, "--format=%x1estrongroom-commit %H", *revs, "--"]
    return parse_diff(_run(repo, args))


def staged_chunks(repo: str) -> Iterator[DiffChunk]:
    """Added lines of the index against HEAD: what `git commit` would record (pre-commit hooks)."""
    check_repo(repo)
    return parse_diff(_run(repo, ["diff", "--cached", *_DIFF_FLAGS, "--"]))
