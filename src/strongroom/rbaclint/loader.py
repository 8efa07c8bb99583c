"""Load Kubernetes objects from files, directories, stdin (Helm/kustomize output) and `List` objects.

Documents are split on `---` lines by hand (not by the YAML parser) so one broken document gives a precise
error with its line and the other documents still load: bad input loses nothing. JSON is parsed with orjson
because cluster dumps (`kubectl get -o json`) are large.

YAML goes through yaml-rs (Rust, ~20x faster than PyYAML's C loader on a 10,000-object dump) unless the
document contains a plain scalar whose meaning differs between YAML 1.2 (yaml-rs) and YAML 1.1 (what kubectl
uses: `0644` is octal, `yes`/`on` are booleans, `<<` merges); those documents, and any yaml-rs refuses (e.g.
duplicate keys), are parsed by PyYAML so the result always matches Kubernetes' reading.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
import yaml_rs

__all__ = ["K8sObject", "LoadError", "LoadResult", "load_paths", "load_text", "objects_from_dicts"]

_YAML_SUFFIXES = {".yaml", ".yml", ".json"}
_DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# plain scalars that YAML 1.1 and 1.2 read differently (conservative: a false hit only costs speed)
_YAML11_ONLY = re.compile(
    # a separator, then a cheap look at the first character so the scan stays fast on big dumps
    r"[\s\[{,](?=[-+0-9._yYnNoO<=])(?:"
    r"[-+]?0[0-9_]+(?:\.[0-9_]*)?"  # leading zero: octal in YAML 1.1
    r"|[-+]?0(?:[xX][0-9a-fA-F_]+|[bB][01_]+|[oO][0-7_]+)"  # 0x / 0b / 0o prefixes, any case
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"  # sexagesimal
    r"|[-+]?(?=[_.0-9eE]*[_eE])[_.0-9][_.0-9eE+-]*"  # underscores, exponents
    r"|[-+]?\.[0-9_]+|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)"
    r"|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|<<|="
    r")(?=$|[\s,\]}:#])|!!",
    re.MULTILINE,
)

# kinds that are not namespaced; everything else without a namespace lands in "default" (kubectl's default)
CLUSTER_SCOPED = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "Namespace",
        "Node",
        "PersistentVolume",
        "CustomResourceDefinition",
        "EncryptionConfiguration",
        "Policy",
        "StorageClass",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
    }
)


@dataclass(slots=True)
class K8sObject:
    """One manifest document with where it came from (file and first line) for reports and suppressions."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    raw: dict[str, Any]
    source: str
    line: int = 1
    from_cluster: bool = False
    template: str | None = None  # Helm's `# Source: chart/templates/x.yaml` comment, when rendered output

    @property
    def where(self) -> str:
        """Human location: file:line, the Helm template when known, or the cluster."""
        if self.from_cluster:
            return f"cluster:{self.ref}"
        loc = f"{self.source}:{self.line}"
        return f"{loc} ({self.template})" if self.template else loc

    @property
    def ref(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        lab = self.metadata.get("labels")
        return lab if isinstance(lab, dict) else {}


@dataclass(slots=True)
class LoadError:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


@dataclass
class LoadResult:
    objects: list[K8sObject] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.objects.extend(other.objects)
        self.errors.extend(other.errors)


def _make(doc: dict[str, Any], source: str, line: int, from_cluster: bool) -> K8sObject | None:
    kind = doc.get("kind")
    if not isinstance(kind, str):
        return None
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = str(meta.get("name") or meta.get("generateName") or "<unnamed>")
    ns = meta.get("namespace")
    namespace = None if kind in CLUSTER_SCOPED else (str(ns) if ns else "default")
    return K8sObject(kind, str(doc.get("apiVersion", "")), name, namespace, doc, source, line, from_cluster)


def objects_from_dicts(
    docs: Iterable[Any], source: str, line: int = 1, *, from_cluster: bool = False
) -> Iterator[K8sObject]:
    """Flatten `List` / `*List` objects and skip empty documents."""
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        items = doc.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            yield from objects_from_dicts(items, source, line, from_cluster=from_cluster)
            continue
        obj = _make(doc, source, line, from_cluster)
        if obj is not None:
            yield obj


def _yaml_error_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 1


_HELM_SOURCE = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$", re.MULTILINE)


def _helm_source(chunk: str, header_lines: int) -> str | None:
    if not header_lines:
        return None
    header = chunk[: sum(len(line) + 1 for line in chunk.split("\n", header_lines)[:header_lines])]
    match = _HELM_SOURCE.search(header)
    return match.group(1) if match else None


def _leading_blank_lines(chunk: str) -> int:
    """Lines before the first content line (blank or comment), without splitting a large chunk."""
    offset = pos = 0
    while pos < len(chunk):
        end = chunk.find("\n", pos)
        end = len(chunk) if end < 0 else end
        line = chunk[pos:end].strip()
        if line and not line.startswith("#"):
            break
        offset += 1
        pos = end + 1
    return offset


def load_text(text: str, source: str) -> LoadResult:
    """Parse one file's text: JSON fast path, else YAML documents one by one."""
    result = LoadResult()
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # YAML flow style is also valid YAML: fall through to the YAML parser
        else:
            docs = data if isinstance(data, list) else [data]
            result.objects.extend(objects_from_dicts(docs, source))
            return result
    seps = list(_DOC_SPLIT.finditer(text))
    starts = [0] + [m.end() for m in seps]
    ends = [m.start() for m in seps] + [len(text)]
    line_no, counted = 1, 0  # line of `counted`; advanced incrementally (not O(n) per document)
    for start, end in zip(starts, ends, strict=True):
        line_no += text.count("\n", counted, start)
        counted = start
        chunk = text[start:end]
        if not chunk.strip():
            continue
        first_line = line_no
        offset = _leading_blank_lines(chunk)
        try:
            doc = parse_yaml(chunk)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "invalid YAML"
            line = first_line + _yaml_error_line(exc) - 1
            result.errors.append(LoadError(source, line, f"invalid YAML: {problem}"))
            continue
        obj_line = first_line + offset
        if doc is None:
            continue
        if not isinstance(doc, dict):
            result.errors.append(LoadError(source, obj_line, "document is not a mapping (object)"))
            continue
        template = _helm_source(chunk, offset)
        for obj in objects_from_dicts([doc], source, obj_line):
            obj.template = template
            result.objects.append(obj)
    return result


def parse_yaml(text: str) -> Any:
    """One YAML document with Kubernetes (YAML 1.1) semantics; raises yaml.YAMLError with a line."""
    if not _YAML11_ONLY.search(" " + text):
        try:
            return yaml_rs.loads(text, parse_datetime=False)
        except yaml_rs.YAMLDecodeError:
            pass  # PyYAML decides, and gives the error with its line
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader only


def _iter_files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix.lower() in _YAML_SUFFIXES and not _hidden(child, path):
                yield child
    else:
        yield path


def _hidden(child: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in child.relative_to(root).parts)


def load_paths(paths: Iterable[str], stdin_text: str | None = None) -> LoadResult:
    """Load every path; `-` reads standard input (e.g. `helm template ... | strongroom lint -`)."""
    result = LoadResult()
    for given in paths:
        if given == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            result.extend(load_text(text, "<stdin>"))
            continue
        path = Path(given)
        if not path.exists():
            result.errors.append(LoadError(given, 0, "no such file or directory"))
            continue
        for file in _iter_files(path):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                result.errors.append(LoadError(str(file), 0, f"cannot read: {type(exc).__name__}"))
                continue
            result.extend(load_text(text, str(file)))
    return result
