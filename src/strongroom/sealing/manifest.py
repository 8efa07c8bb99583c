"""Read and write Kubernetes manifests (YAML multi-doc, JSON, concatenated JSON) as plain dicts. Pure.

Parse errors report only a position: PyYAML's own messages quote the offending line, which may hold a secret.
Timestamps stay strings (PyYAML would turn them into datetimes that JSON cannot print).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from strongroom.sealing.errors import ManifestError

__all__ = ["dump_manifests", "load_manifests"]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _load_json_stream(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"input is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        docs.append(doc)


def _load_yaml_stream(text: str) -> list[Any]:
    try:
        # _Loader is a SafeLoader subclass: no arbitrary object construction
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ManifestError(f"input is not valid YAML{where}") from None
    except yaml.YAMLError:
        raise ManifestError("input is not valid YAML") from None


def load_manifests(text: str | bytes, *, expand_lists: bool = False) -> list[dict[str, Any]]:
    """Every object in `text`; `kind: List` is expanded into its items when `expand_lists`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ManifestError("input is not UTF-8 text") from None
    stripped = text.lstrip()
    try:
        docs = _load_json_stream(text) if stripped.startswith(("{", "[")) else _load_yaml_stream(text)
    except RecursionError:
        raise ManifestError("input is nested too deeply") from None
    result: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise ManifestError("input is not a Kubernetes object (expected a mapping)")
        if expand_lists and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                if not isinstance(item, dict):
                    raise ManifestError("a List item is not a Kubernetes object")
                result.append(item)
        else:
            result.append(doc)
    return result


def dump_manifests(objects: Iterable[Mapping[str, Any]], fmt: str = "json") -> str:
    """kubeseal's output: pretty JSON objects one after another, or YAML documents each opened by `---`."""
    if fmt == "json":
        return "".join(json.dumps(obj, indent=2, ensure_ascii=False) + "\n" for obj in objects)
    if fmt == "yaml":
        return "".join("---\n" + yaml.dump(dict(obj), Dumper=_Dumper, sort_keys=False, width=1 << 30,
                                         allow_unicode=True, default_flow_style=False)
                       for obj in objects)
    raise ValueError(f"unknown format {fmt!r}")
