"""`strongroom scan`: find leaked credentials in files, stdin or git history (exit 0, 1 findings, 2 error)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from strongroom.scanner import baseline as baseline_mod
from strongroom.scanner import git, report, runner, walk


class ScanError(click.ClickException):
    exit_code = 2


@contextmanager
def _progress(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = [TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _display(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _scan_paths(
    paths: tuple[str, ...],
    excludes: tuple[str, ...],
    no_gitignore: bool,
    max_bytes: int,
    jobs: int | None,
    show_progress: bool,
) -> tuple[runner.ScanResult, dict[str, int]]:
    result = runner.ScanResult()
    fs_paths = [p for p in paths if p != "-"]
    if "-" in paths:
        data = sys.stdin.buffer.read()
        stdin_result = runner.scan_text(data.decode("utf-8", errors="replace"), "<stdin>")
        result.findings.extend(stdin_result.findings)
        result.files += 1
        result.bytes += stdin_result.bytes
    extra = {}
    if fs_paths:
        found = walk.walk(fs_paths, max_bytes=max_bytes, use_gitignore=not no_gitignore, excludes=list(excludes))
        missing = [e for e in found.errors if e.endswith("no such file or directory")]
        if missing and not found.files:
            raise ScanError("; ".join(missing))
        total = sum(size for _, size in found.files)
        big = total > 8 * 1024 * 1024 or len(found.files) > 500
        with _progress(show_progress and big, total, "scanning") as advance:
            files_result = runner.scan_files(found.files, root_display=_display, jobs=jobs, progress=advance)
        result.findings.extend(files_result.findings)
        result.files += files_result.files
        result.bytes += files_result.bytes
        result.skipped_binary = files_result.skipped_binary + found.skipped_binary
        result.errors.extend(found.errors + files_result.errors)
        extra = {"skipped_large": found.skipped_large, "skipped_ignored": found.skipped_ignored}
    return result, extra


@click.command(name="scan")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--git",
    "git_history",
    is_flag=True,
    help="Scan every commit's added lines (all refs) of the repo at PATH.",
)
@click.option("--since", metavar="REF", help="Scan only commits in REF..HEAD (CI on a branch or merge request).")
@click.option("--staged", is_flag=True, help="Scan the staged diff (use as a pre-commit hook).")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "sarif"]), default="human", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to a file.")
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="JSON file of accepted finding fingerprints; matching findings are not reported.",
)
@click.option("--update-baseline", is_flag=True, help="Write every current finding into --baseline and exit 0.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="gitignore-style pattern to skip (repeatable).")
@click.option("--no-gitignore", is_flag=True, help="Do not honour .gitignore / .strongroomignore files.")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=walk.DEFAULT_MAX_BYTES,
    show_default=True,
    help="Skip files larger than this.",
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes [default: cores].")
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
def cli(
    paths: tuple[str, ...],
    git_history: bool,
    since: str | None,
    staged: bool,
    fmt: str,
    output: str | None,
    baseline_path: str | None,
    update_baseline: bool,
    exclude: tuple[str, ...],
    no_gitignore: bool,
    max_bytes: int,
    jobs: int | None,
    no_progress: bool,
) -> None:
    """Find leaked credentials in PATHS (files, directories, or - for stdin) or in git history.

    \b
    Examples:
      strongroom scan .                          # working tree, honouring .gitignore
      strongroom scan --git .                    # every commit of every branch
      strongroom scan --since origin/main        # commits of this branch only (CI)
      strongroom scan --staged                   # pre-commit hook
      kubectl get secret -o yaml x | strongroom scan -
      strongroom scan . --format sarif -o scan.sarif

    Findings show a redacted preview and a fingerprint, never the secret. Exit status: 0 no findings,
    1 findings, 2 error.
    """
    if update_baseline and not baseline_path:
        raise ScanError("--update-baseline needs --baseline FILE")
    if sum(bool(x) for x in (git_history, since, staged)) > 1:
        raise ScanError("choose one of --git, --since and --staged")
    accepted: set[str] = set()
    if baseline_path and not update_baseline:
        try:
            accepted = baseline_mod.load_baseline(baseline_path)
        except baseline_mod.BaselineError as exc:
            raise ScanError(str(exc)) from exc
    try:
        if git_history or since or staged:
            if len(paths) > 1:
                raise ScanError("git modes take at most one repository path")
            repo = paths[0] if paths else "."
            chunks = git.staged_chunks(repo) if staged else git.history_chunks(repo, since=since)
            with _progress(not no_progress, None, "git history") as advance:
                result = runner.scan_chunks(chunks, jobs=jobs, progress=advance)
            extra: dict[str, int] = {}
        else:
            result, extra = _scan_paths(paths or (".",), exclude, no_gitignore, max_bytes, jobs, not no_progress)
    except git.GitError as exc:
        raise ScanError(str(exc)) from exc
    if update_baseline and baseline_path:
        count = baseline_mod.write_baseline(baseline_path, result.findings)
        click.echo(f"baseline {baseline_path}: {count} accepted finding(s)", err=True)
        return
    before = len(result.findings)
    result.findings = [f for f in result.findings if f.fingerprint not in accepted]
    _emit(result, fmt, output, before - len(result.findings), extra)
    if result.findings:
        sys.exit(1)
    if result.errors:
        sys.exit(2)


def _emit(result: runner.ScanResult, fmt: str, output: str | None, suppressed: int, extra: dict[str, int]) -> None:
    if fmt == "human" and output is None:
        report.render_human(Console(), result, suppressed)
        return
    if fmt == "human":
        with open(output or os.devnull, "w", encoding="utf-8") as fh:
            report.render_human(Console(file=fh, width=160), result, suppressed)
        return
    body = report.to_json(result, suppressed, extra) if fmt == "json" else report.to_sarif(result)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(body + "\n")
    else:
        click.echo(body)
