"""Run the engine over files, stdin or git chunks, in parallel worker processes.

Each worker builds its own `Scanner` once (compiled regexes and keyword automaton are per process) and
returns findings only: fingerprints and redacted previews, never the secret bytes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from strongroom.scanner.engine import Finding, Scanner
from strongroom.scanner.git import DiffChunk
from strongroom.scanner.walk import is_binary

__all__ = ["ScanResult", "scan_chunks", "scan_files", "scan_text"]

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int], None]

_SCANNER: Scanner | None = None


def _scanner() -> Scanner:
    global _SCANNER
    if _SCANNER is None:
        _SCANNER = Scanner()
    return _SCANNER


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped_binary: int = 0
    errors: list[str] = field(default_factory=list)


def _scan_file(item: tuple[str, str]) -> tuple[str, list[Finding], int, str | None]:
    """-> (status, findings, size, error) where status is 'ok', 'binary' or 'error'."""
    path, shown = item
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return "error", [], 0, f"{shown}: {exc.strerror}"
    if is_binary(data[:8192]):
        return "binary", [], len(data), None
    text = data.decode("utf-8", errors="replace")
    return "ok", _scanner().scan_text(text, shown), len(data), None


def _scan_chunk(chunk: DiffChunk) -> tuple[list[Finding], int]:
    text = chunk.text
    out = []
    for f in _scanner().scan_text(text, chunk.path):
        line = chunk.numbers[f.line - 1] if 0 < f.line <= len(chunk.numbers) else f.line
        end = chunk.numbers[f.end_line - 1] if 0 < f.end_line <= len(chunk.numbers) else line
        out.append(f.with_location(line=line, end_line=end, commit=chunk.commit))
    return out, len(text)


def _map(func: Callable[[T], R], items: Iterable[T], jobs: int, parallel: bool) -> Iterator[R]:
    if not parallel or jobs <= 1:
        yield from map(func, items)
        return
    if hasattr(os, "fork"):
        _scanner()  # build once here; forked workers inherit the compiled rules and keyword database
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ctx.Pool(processes=jobs) as pool:
        yield from pool.imap(func, items, chunksize=8)


def scan_files(
    files: list[tuple[str, int]],
    *,
    root_display: Callable[[str], str] = str,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    result = ScanResult()
    jobs = jobs or os.cpu_count() or 1
    total = sum(size for _, size in files)
    items = [(path, root_display(path)) for path, _ in files]
    parallel = len(files) >= 16 and total >= 256 * 1024
    for status, findings, size, error in _map(_scan_file, items, jobs, parallel):
        if status == "error" and error:
            result.errors.append(error)
        elif status == "binary":
            result.skipped_binary += 1
        else:
            result.files += 1
            result.bytes += size
            result.findings.extend(findings)
        if progress is not None:
            progress(size)
    result.findings.sort(key=lambda f: (f.path, f.line, f.rule_id))
    return result


def scan_chunks(
    chunks: Iterable[DiffChunk], *, jobs: int | None = None, progress: Progress | None = None
) -> ScanResult:
    result = ScanResult()
    jobs = jobs or os.cpu_count() or 1
    for findings, size in _map(_scan_chunk, chunks, jobs, parallel=True):
        result.files += 1
        result.bytes += size
        result.findings.extend(findings)
        if progress is not None:
            progress(size)
    return result


def scan_text(text: str, path: str = "-") -> ScanResult:
    findings = _scanner().scan_text(text, path)
    return ScanResult(findings=findings, files=1, bytes=len(text.encode("utf-8", "replace")))
