"""Baseline of accepted findings. It stores fingerprints (hashes of rule + secret), never secrets.

Path and line are kept only to help a reviewer find the accepted finding; matching is by fingerprint,
so moving or re-indenting an accepted secret does not resurface it, while a new secret always does.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

from strongroom.scanner.engine import Finding

__all__ = ["BaselineError", "load_baseline", "write_baseline"]

VERSION = 1


class BaselineError(Exception):
    """The baseline file is unreadable or not a Strongroom baseline."""


def load_baseline(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data: Any = json.load(fh)
    except FileNotFoundError as exc:
        raise BaselineError(f"{path}: baseline file not found (create it with --update-baseline)") from exc
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a readable JSON baseline ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not a strongroom scan baseline (version {VERSION})")
    prints: set[str] = set()
    for entry in data["findings"]:
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(fp, str) or len(fp) != 64:
            raise BaselineError(f"{path}: malformed entry in findings")
        prints.add(fp)
    return prints


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    """Atomically write the baseline (temp file + rename), so a crash never leaves half a file."""
    entries: dict[str, dict[str, Any]] = {}
    for f in findings:
        entries.setdefault(
            f.fingerprint, {"fingerprint": f.fingerprint, "rule": f.rule_id, "path": f.path, "line": f.line}
        )
    body = {
        "version": VERSION,
        "generator": "strongroom scan",
        "hash": "sha256(rule_id, secret)",
        "findings": sorted(entries.values(), key=lambda e: (e["path"], e["line"], e["rule"])),
    }
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return len(entries)
