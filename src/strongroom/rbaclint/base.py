"""Rules as data: a `Check` names its id, severity, fix hint and its own positive/negative example manifests.

One generic test (tests/rbaclint/test_rules.py) lints every check's examples, so a check cannot ship without
proof that it fires on the bad case and stays quiet on the good one.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from strongroom.rbaclint.loader import K8sObject
from strongroom.rbaclint.model import RbacModel

__all__ = ["Check", "Context", "Finding", "Severity"]


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(slots=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    obj: K8sObject | None
    hint: str
    suppressed_by: str | None = None  # the reason, when an annotation suppressed it

    @property
    def location(self) -> str:
        return "-" if self.obj is None else self.obj.where

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule_id,
            "severity": str(self.severity),
            "message": self.message,
            "hint": self.hint,
            "object": self.obj.ref if self.obj else None,
            "source": self.obj.source if self.obj else None,
            "line": self.obj.line if self.obj and not self.obj.from_cluster else None,
        }
        if self.obj is not None and self.obj.template:
            out["template"] = self.obj.template
        if self.suppressed_by is not None:
            out["suppressed"] = self.suppressed_by
        return out


class Context:
    """Everything a check may look at; indexes are built lazily and once."""

    def __init__(self, objects: Iterable[K8sObject]) -> None:
        self.objects = list(objects)

    @cached_property
    def by_kind(self) -> dict[str, list[K8sObject]]:
        index: dict[str, list[K8sObject]] = defaultdict(list)
        for obj in self.objects:
            index[obj.kind].append(obj)
        return index

    def kind(self, *kinds: str) -> Iterator[K8sObject]:
        for k in kinds:
            yield from self.by_kind.get(k, ())

    @cached_property
    def rbac(self) -> RbacModel:
        return RbacModel(self.objects)


CheckFn = Callable[["Check", Context], Iterator[Finding]]


@dataclass(slots=True)
class Check:
    id: str
    title: str
    severity: Severity
    hint: str
    fn: CheckFn
    positive: str  # a manifest this check must flag
    negative: str  # a close manifest it must not flag
    category: str = "rbac"
    docs: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def run(self, ctx: Context) -> Iterator[Finding]:
        return self.fn(self, ctx)

    def finding(self, obj: K8sObject | None, message: str, severity: Severity | None = None) -> Finding:
        return Finding(self.id, severity if severity is not None else self.severity, message, obj, self.hint)
