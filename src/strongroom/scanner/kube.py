"""Kubernetes awareness: base64 values worth decoding, and manifests whose values are not secrets.

Written as a line scanner rather than a YAML parser on purpose: Helm templates (`{{ ... }}`) are not
valid YAML, and we need byte offsets to report lines. It understands:

- `data:` blocks of `kind: Secret` documents (YAML and `kubectl -o json`), including `.dockerconfigjson`;
- kubeconfig `client-key-data` (and any `*-key-data` / `token-data`) values;
- SealedSecret / ExternalSecret / ClusterExternalSecret / PushSecret documents, which hold ciphertext or
  references only, so findings inside them are hidden.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

__all__ = ["EncodedValue", "encoded_values", "hidden_ranges"]

_SAFE_KINDS = re.compile(r"^kind:\s*[\"']?(SealedSecret|ExternalSecret|ClusterExternalSecret|PushSecret)\b", re.M)
_DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)
_KIND_SECRET = re.compile(r"^\s*kind:\s*[\"']?Secret[\"']?\s*$", re.M)
_ENTRY = re.compile(r"^(?P<indent>[ \t]*)(?:-[ \t]+)?(?P<key>[\w.\-]+):[ \t]*(?P<value>.*?)[ \t]*$")
_B64 = re.compile(r"^[\"']?(?P<v>[A-Za-z0-9+/]{8,}={0,2})[\"']?$")
_KEY_DATA = re.compile(r"^(?:[\w\-]*key-data|token-data)$")
_JSON_DATA = re.compile(r'"data"\s*:\s*\{(?P<body>[^{}]*)\}')
_JSON_PAIR = re.compile(r'"(?P<key>[\w.\-]+)"\s*:\s*"(?P<v>[A-Za-z0-9+/]{8,}={0,2})"')


@dataclass(frozen=True, slots=True)
class EncodedValue:
    """A base64 value in the text (offsets of the encoded form) and its decoded text."""

    key: str
    start: int
    end: int
    decoded: str
    source: str


def _documents(text: str) -> list[tuple[int, int]]:
    bounds = [0] + [m.end() for m in _DOC_SPLIT.finditer(text)] + [len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def hidden_ranges(text: str, lower: str) -> list[tuple[int, int]]:
    """Offsets of documents that only ever hold ciphertext or references (SealedSecret, ExternalSecret)."""
    if "sealedsecret" not in lower and "externalsecret" not in lower and "pushsecret" not in lower:
        return []
    return [(a, b) for a, b in _documents(text) if _SAFE_KINDS.search(text, a, b)]


def _decode(value: str) -> str | None:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError: binary data, not text
        return None
    if not decoded.strip() or any(ord(c) < 9 for c in decoded):
        return None
    return decoded


def encoded_values(text: str, lower: str) -> list[EncodedValue]:
    out: list[EncodedValue] = []
    if "-data:" in lower:
        out.extend(_yaml_values(text, 0, len(text), secret_doc=False))
    if "secret" in lower and "data" in lower:
        for a, b in _documents(text):
            if _KIND_SECRET.search(text, a, b):
                out.extend(_yaml_values(text, a, b, secret_doc=True))
        if '"kind"' in lower:
            out.extend(_json_values(text))
    unique = {(v.start, v.end): v for v in out}
    return sorted(unique.values(), key=lambda v: v.start)


def _yaml_values(text: str, start: int, stop: int, *, secret_doc: bool) -> list[EncodedValue]:
    out: list[EncodedValue] = []
    data_indent: int | None = None
    offset = start
    for raw_line in text[start:stop].split("\n"):
        line_offset = offset
        offset += len(raw_line) + 1
        m = _ENTRY.match(raw_line)
        if m is None:
            continue
        indent = len(m.group("indent"))
        key, value = m.group("key"), m.group("value")
        if data_indent is not None and indent <= data_indent:
            data_indent = None
        if secret_doc and key == "data" and not value:
            data_indent = indent
            continue
        in_data = data_indent is not None and indent > data_indent
        if not (in_data or _KEY_DATA.match(key)):
            continue
        vm = _B64.match(value)
        if vm is None:
            continue
        decoded = _decode(vm.group("v"))
        if decoded is None:
            continue
        value_start = line_offset + m.start("value") + vm.start("v")
        source = "kubernetes Secret data (base64)" if in_data else f"kubeconfig {key} (base64)"
        out.append(EncodedValue(key, value_start, value_start + len(vm.group("v")), decoded, source))
    return out


def _json_values(text: str) -> list[EncodedValue]:
    out: list[EncodedValue] = []
    for block in _JSON_DATA.finditer(text):
        for pair in _JSON_PAIR.finditer(text, block.start("body"), block.end("body")):
            decoded = _decode(pair.group("v"))
            if decoded is not None:
                s, e = pair.span("v")
                out.append(EncodedValue(pair.group("key"), s, e, decoded, "kubernetes Secret data (base64)"))
    return out
