"""File discovery: .gitignore-aware walk that skips binaries, oversized files, symlinks and `.git`.

Ignore files use gitignore syntax through `pathspec` (the same library mypy and black use); each
directory's `.gitignore` and `.strongroomignore` apply below it, as in git.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

__all__ = ["WalkResult", "is_binary", "walk"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
IGNORE_FILES = (".gitignore", ".strongroomignore")
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
BINARY_EXTENSIONS = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".tiff",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".o",
        ".a",
        ".pyc",
        ".whl",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".wav",
        ".ogg",
        ".flac",
        ".psd",
        ".sqlite",
        ".db",
        ".bin",
        ".iso",
        ".dmg",
        ".parquet",
        ".npy",
        ".pkl",
    }
)


@dataclass
class WalkResult:
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, size)
    skipped_binary: int = 0
    skipped_large: int = 0
    skipped_ignored: int = 0
    errors: list[str] = field(default_factory=list)


def _gitignore(lines: list[str]) -> pathspec.GitIgnoreSpec:
    import pathspec  # imported on first use: `scan --staged` in a pre-commit hook never walks a tree

    return pathspec.GitIgnoreSpec.from_lines(lines)


def is_binary(head: bytes) -> bool:
    return b"\0" in head


def _spec_for(directory: str) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as fh:
                lines.extend(fh.read().splitlines())
        except OSError:
            continue
    return _gitignore(lines) if lines else None


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], path: str, is_dir: bool) -> bool:
    for base, spec in specs:
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def walk(
    roots: list[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    use_gitignore: bool = True,
    excludes: list[str] | None = None,
) -> WalkResult:
    """List the files to scan under `roots`. Explicitly named files are scanned even if ignored."""
    result = WalkResult()
    exclude_spec = _gitignore(excludes or [])
    for root in roots:
        if os.path.isfile(root):
            _consider(root, result, max_bytes, exclude_spec, root_dir=os.path.dirname(root) or ".")
        elif os.path.isdir(root):
            _walk_dir(root, result, max_bytes, use_gitignore, exclude_spec)
        else:
            result.errors.append(f"{root}: no such file or directory")
    return result


def _walk_dir(
    root: str, result: WalkResult, max_bytes: int, use_gitignore: bool, exclude_spec: pathspec.GitIgnoreSpec
) -> None:
    specs: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]] = {}
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: result.errors.append(str(e))):
        inherited = specs.get(os.path.dirname(dirpath), []) if dirpath != root else []
        own = _spec_for(dirpath) if use_gitignore else None
        active = [*inherited, (dirpath, own)] if own is not None else inherited
        specs[dirpath] = active
        keep = []
        for name in sorted(dirnames):
            full = os.path.join(dirpath, name)
            if name in SKIP_DIRS or os.path.islink(full):
                continue
            if _ignored(active, full, True) or _excluded(exclude_spec, root, full, True):
                result.skipped_ignored += 1
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if name in IGNORE_FILES:
                continue
            if _ignored(active, full, False):
                result.skipped_ignored += 1
                continue
            _consider(full, result, max_bytes, exclude_spec, root_dir=root)


def _excluded(spec: pathspec.GitIgnoreSpec, root: str, path: str, is_dir: bool) -> bool:
    if not spec.patterns:
        return False
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return spec.match_file(rel + "/" if is_dir else rel)


def _consider(
    path: str, result: WalkResult, max_bytes: int, exclude_spec: pathspec.GitIgnoreSpec, root_dir: str
) -> None:
    if _excluded(exclude_spec, root_dir, path, False):
        result.skipped_ignored += 1
        return
    try:
        if os.path.islink(path):
            return
        size = os.path.getsize(path)
    except OSError as exc:
        result.errors.append(f"{path}: {exc.strerror}")
        return
    if size > max_bytes:
        result.skipped_large += 1
        return
    if Path(path).suffix.lower() in BINARY_EXTENSIONS:
        result.skipped_binary += 1
        return
    result.files.append((path, size))
