"""Inline suppressions: `strongroom.io/lint-ignore: "<rule-id>: <reason>[; <rule-id>: <reason>]"`.

A reason is required so every silenced finding carries its justification into the report; an entry without
one (or naming an unknown rule) suppresses nothing and is reported by the `invalid-suppression` check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from strongroom.rbaclint.base import Check, Context, Finding, Severity
from strongroom.rbaclint.loader import K8sObject

__all__ = ["ANNOTATION", "CHECK", "Suppression", "parse"]

ANNOTATION = "strongroom.io/lint-ignore"
_SPLIT = re.compile(r"[;\n]")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class Suppression:
    rule_id: str
    reason: str


def parse(obj: K8sObject) -> tuple[list[Suppression], list[str]]:
    """Valid suppressions and problems (texts without the reason's content) of one object."""
    value = obj.annotations.get(ANNOTATION)
    if value is None:
        return [], []
    good: list[Suppression] = []
    problems: list[str] = []
    for entry in _SPLIT.split(str(value)):
        entry = entry.strip()
        if not entry:
            continue
        rule_id, _, reason = entry.partition(":")
        rule_id, reason = rule_id.strip(), reason.strip()
        if not _ID.match(rule_id):
            problems.append(f"entry {entry[:40]!r} does not start with a rule id")
        elif not reason:
            problems.append(f"suppression of {rule_id} has no reason (write '{rule_id}: <why this is fine>')")
        else:
            good.append(Suppression(rule_id, reason))
    if not good and not problems:
        problems.append("annotation is empty")
    return good, problems


def _invalid(check: Check, ctx: Context) -> Iterator[Finding]:
    from strongroom.rbaclint.checks import CHECK_IDS  # late: the registry includes this check

    for obj in ctx.objects:
        if ANNOTATION not in obj.annotations:
            continue
        good, problems = parse(obj)
        problems += [f"suppression names unknown rule {s.rule_id}" for s in good if s.rule_id not in CHECK_IDS]
        for problem in problems:
            yield check.finding(obj, f"{obj.ref}: {problem}")


_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: app\n  annotations:\n"
CHECK = Check(
    "invalid-suppression",
    "Suppression without a reason or for an unknown rule",
    Severity.MEDIUM,
    f'Write `{ANNOTATION}: "<rule-id>: <reason>"`; several entries are separated by `;`.',
    _invalid,
    _CM + f"    {ANNOTATION}: secret-in-env\n",
    _CM + f'    {ANNOTATION}: "secret-in-env: vendor image reads only env vars"\n',
    category="meta",
)
