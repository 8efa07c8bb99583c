"""I/O for `strongroom seal`: certificates from files/URLs/the controller, controller calls, atomic writes.

Kept apart from the library (`strongroom.sealing` is pure) and from the click wiring in `cli/seal.py`.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

DEFAULT_TIMEOUT = 30.0


class SealCliError(click.ClickException):
    """A user-facing failure: printed as `Error: ...`, exit status 1. Never holds a secret value."""


@dataclass(frozen=True)
class CertSource:
    """One `--cert` value: optional `NAME=` prefix (names the cluster for multi-cert output) and a source."""

    name: str
    source: str

    @classmethod
    def parse(cls, value: str) -> CertSource:
        head, sep, tail = value.partition("=")
        if sep and head and "/" not in head and ":" not in head and tail:
            return cls(head, tail)
        parsed = urllib.parse.urlparse(value)
        if parsed.scheme in ("http", "https"):
            stem = parsed.hostname or "cluster"
        else:
            stem = Path(parsed.path if parsed.scheme == "file" else value).stem or "cluster"
        return cls(stem, value)


def _http_get(url: str, timeout: float) -> bytes:
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise SealCliError(f"cannot fetch {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise SealCliError(f"cannot fetch {url}: HTTP {response.status_code}")
    return response.content


def read_source(source: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Bytes of a file path, `file://` URL or http(s) URL."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        return _http_get(source, timeout)
    path = Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else Path(source)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SealCliError(f"no such file: {path}") from None
    except OSError as exc:
        raise SealCliError(f"cannot read {path}: {exc.strerror}") from None


def controller_endpoint(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def fetch_controller_cert(base_url: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    return _http_get(controller_endpoint(base_url, "/v1/cert.pem"), timeout)


def post_sealed_secret(base_url: str, path: str, sealed: dict[str, Any],
                       timeout: float = DEFAULT_TIMEOUT) -> httpx.Response:
    url = controller_endpoint(base_url, path)
    try:
        return httpx.post(url, content=json.dumps(sealed).encode(), timeout=timeout,
                          headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise SealCliError(f"cannot reach the controller at {url}: {type(exc).__name__}") from None


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write next to `path` and rename over it, so a failure never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_for_path(path: str | None, default: str) -> str:
    if path and path.lower().endswith((".yaml", ".yml")):
        return "yaml"
    if path and path.lower().endswith(".json"):
        return "json"
    return default
