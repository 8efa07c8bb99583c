"""A route: pattern, typed fields, operations, existence check, help. Everything else is derived from it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.sdk.framework.fields import Field, FieldData
from strongroom.sdk.operations import Operation
from strongroom.sdk.request import Request, Response

Handler = Callable[[Request, FieldData], Awaitable[Response | None]]
ExistenceCheck = Callable[[Request, FieldData], Awaitable[bool]]

# Common path-pattern pieces, as Vault's framework names them.
GENERIC_NAME = r"\w(([\w-]+)?\w)?"


def match_all(name: str) -> str:
    return rf"(?P<{name}>.*)"


def generic_name(name: str) -> str:
    return rf"(?P<{name}>\w(([\w.@-]+)?\w)?)"


def optional_trailing_slash() -> str:
    return "/?"


@dataclass
class OperationSpec:
    handler: Handler
    summary: str = ""
    # operations that take body fields that aren't declared (e.g. kv v1 writes)
    forward_unknown: bool = False


@dataclass
class Path:
    pattern: str
    operations: Mapping[Operation, Handler | OperationSpec]
    fields: Mapping[str, Field] = field(default_factory=dict)
    existence_check: ExistenceCheck | None = None
    help_synopsis: str = ""
    help_description: str = ""
    takes_arbitrary_input: bool = False
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = re.compile("^" + self.pattern + "$")
        return self._regex

    def spec(self, op: Operation) -> OperationSpec | None:
        h = self.operations.get(op)
        if h is None:
            return None
        return h if isinstance(h, OperationSpec) else OperationSpec(h)


@dataclass
class SecretType:
    """A leased secret an engine hands out. The core calls renew/revoke; engines never track leases."""

    name: str
    revoke: Callable[[Request, dict[str, Any]], Awaitable[None]]
    renew: Callable[[Request, dict[str, Any]], Awaitable[Response | None]] | None = None
    default_ttl: int = 0


__all__ = [
    "GENERIC_NAME",
    "ExistenceCheck",
    "Handler",
    "OperationSpec",
    "Path",
    "SecretType",
    "generic_name",
    "match_all",
    "optional_trailing_slash",
]
