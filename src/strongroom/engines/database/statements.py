"""SQL statement lists as Vault's database engine takes them, and their `{{...}}` placeholders.

Hand-written because the rules are Vault's own: a statement list arrives as a `;`-separated string, a JSON array
of strings, or base64 of either; statements holding a PL/pgSQL block run whole, the rest are split on `;`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

import orjson

from strongroom.sdk.errors import InvalidRequest

# Go layout "2006-01-02 15:04:05-0700", what PostgreSQL's VALID UNTIL accepts
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"

_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_END = re.compile(r"\bEND\b", re.IGNORECASE)


def format_expiration(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime(EXPIRATION_FORMAT)


def parse_statements(value: Any, field: str) -> list[str]:
    """Statements from a string (maybe base64), a JSON array string, or a list; empty entries dropped."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = []
        for v in value:
            if not isinstance(v, str):
                raise InvalidRequest(f"{field} must be a string or a list of strings")
            items.extend(_from_string(v))
    elif isinstance(value, str):
        items = _from_string(value)
    else:
        raise InvalidRequest(f"{field} must be a string or a list of strings")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidRequest(f"{field} must be a string or a list of strings")
        if item.strip():
            out.append(_maybe_base64(item.strip()))
    return out


def _from_string(value: str) -> list[Any]:
    text = _maybe_base64(value.strip())
    if text.startswith("["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [text]
        if isinstance(parsed, list):
            return parsed
    return [text]


def _maybe_base64(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text) or len(text) % 4:
        return text
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return text
    return decoded if decoded.isprintable() or "\n" in decoded else text


def has_block(statement: str) -> bool:
    """True when the statement holds a PL/pgSQL block: a word-boundary END outside quotes."""
    return bool(_END.search(_QUOTED.sub("", statement)))


def split(statements: list[str]) -> list[str]:
    """The queries to run, in order: block statements whole, the rest split on `;`."""
    out: list[str] = []
    for stmt in statements:
        if has_block(stmt):
            out.append(stmt)
            continue
        out.extend(part.strip() for part in stmt.split(";") if part.strip())
    return out


def render(query: str, values: dict[str, str]) -> str:
    """Replaces `{{name}}`, `{{username}}`, `{{password}}`, `{{expiration}}` (spaces inside braces allowed)."""

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "username" and "username" not in values:
            key = "name"
        if key == "name" and "name" not in values:
            key = "username"
        return values.get(key, m.group(0))

    return re.sub(r"\{\{\s*(\w+)\s*\}\}", repl, query)


__all__ = ["EXPIRATION_FORMAT", "format_expiration", "has_block", "parse_statements", "render", "split"]
