"""HCL / JSON text -> the raw policy document: top-level keys plus every `path` block, in order.

Why not plain `hcl.loads`: pyhcl merges repeated `path "x" {}` blocks key by key (the later block's
`capabilities` silently replaces the earlier one's, so a `deny` can vanish). Vault keeps each block and
unions them. We reuse pyhcl's grammar but keep the top-level item list; JSON goes through `json` with a
pairs hook for the same reason. pyhcl reports an absolute offset as "column"; we turn it into a real one.
Known pyhcl limit: a list that starts with a string cannot contain numbers or booleans (`["a", 1]`);
write `[1, "a"]` or use JSON.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from hcl.parser import HclParser

from strongroom.sdk.errors import InvalidRequest

RawBlocks = list[tuple[str, object]]


class _ItemParser(HclParser):  # type: ignore[misc]  # pyhcl ships no type hints
    """pyhcl's parser, except the top level stays a list of (key, value) items and lists may hold
    booleans (`"enabled" = [false]`, which Vault accepts and stock pyhcl rejects). ply builds its
    tables from the `p_*` docstrings at construction time, so one extra rule is all it takes."""

    start = "top"  # ply would otherwise pick the first rule by line number, which is now ours

    def p_listitem_bool(self, p: Any) -> None:
        "listitem : BOOL"
        p[0] = p[1]

    def objectlist_flat(self, lt: list[tuple[Any, Any]], replace: bool) -> Any:
        if replace:  # only the top level is flattened with replace=True
            return list(lt)
        return super().objectlist_flat(lt, replace)


_parser: _ItemParser | None = None
_parser_lock = threading.Lock()  # ply parsers keep state on the instance; building one costs ~70 ms


def _parse_hcl(text: str) -> list[tuple[Any, Any]]:
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = _ItemParser()
        try:
            items = _parser.parse(text)
        except ValueError as exc:
            raise InvalidRequest(f"failed to parse policy: {_located(str(exc), text)}") from None
        except Exception:  # the ply lexer raises assorted errors on odd input
            raise InvalidRequest("failed to parse policy: malformed HCL") from None
    if isinstance(items, dict):  # empty document
        return list(items.items())
    return list(items)


_LOC = re.compile(r"Line (\d+), column (\d+)(?:, index (\d+))?: ")


def _located(message: str, text: str) -> str:
    """Rewrite pyhcl's "Line L, column <offset>:" into "line L, column C:"; drop the token wish-list."""
    message = message.split("; expected", 1)[0]
    m = _LOC.match(message)
    if not m:
        return message
    offset = int(m.group(3) or m.group(2))  # the parser's "column" is really the offset
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {m.group(1)}, column {column}: {message[m.end() :]}"


class _Pairs(dict[str, Any]):
    """A JSON object that remembers every (key, value) pair, duplicates included."""

    pairs: list[tuple[str, Any]]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs(pairs)
    obj.pairs = pairs
    return obj


def _parse_json(text: str) -> list[tuple[Any, Any]]:
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"failed to parse policy: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, _Pairs):
        raise InvalidRequest("failed to parse policy: does not contain a root object")
    return list(doc.pairs)


def _path_blocks(value: object) -> RawBlocks:
    """`path` may be an object of pattern -> body, or (JSON) a list of such objects."""
    if isinstance(value, list):
        out: RawBlocks = []
        for item in value:
            out.extend(_path_blocks(item))
        return out
    if not isinstance(value, dict):
        raise InvalidRequest('failed to parse policy: "path" must be a block: path "<pattern>" { ... }')
    pairs = value.pairs if isinstance(value, _Pairs) else list(value.items())
    return [(str(k), v) for k, v in pairs]


def load_document(text: str) -> tuple[str | None, RawBlocks]:
    """Return (the optional top-level `name`, the path blocks in document order)."""
    stripped = text.lstrip()
    items = _parse_json(text) if stripped.startswith("{") else _parse_hcl(text)
    name: str | None = None
    blocks: RawBlocks = []
    for key, value in items:
        if key == "path":
            blocks.extend(_path_blocks(value))
        elif key == "name":
            name = str(value)
        elif isinstance(key, str) and key.startswith("comment-L"):
            continue  # pyhcl exports comments only when asked; keep this harmless
        else:
            raise InvalidRequest(f'failed to parse policy: invalid key "{key}" (expected "path" or "name")')
    return name, blocks


def body_pairs(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """A block's (key, value) pairs with JSON repeats kept (HCL repeats are already folded by pyhcl)."""
    return list(body.pairs) if isinstance(body, _Pairs) else list(body.items())
