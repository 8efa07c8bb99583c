"""Typed request fields, coerced the way Vault's framework does (strings to ints/bools/durations, CSV lists).

Hand-written because the coercion rules are Vault's own (e.g. "1h30m" and 90 are both durations, "a,b" is a
list); a generic validation library would need as much code to express them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.sdk.errors import InvalidRequest


class FieldType(enum.Enum):
    STRING = "string"
    LOWERCASE_STRING = "lowercase_string"
    INT = "int"
    BOOL = "bool"
    MAP = "map"
    KVPAIRS = "kvpairs"  # map[string]string
    SLICE = "slice"
    STRING_SLICE = "string_slice"
    COMMA_STRING_SLICE = "comma_string_slice"
    COMMA_INT_SLICE = "comma_int_slice"
    DURATION = "duration"  # seconds
    NAME = "name"
    HEADER = "header"


OPENAPI_TYPES = {
    FieldType.STRING: ("string", None), FieldType.LOWERCASE_STRING: ("string", None),
    FieldType.NAME: ("string", None), FieldType.INT: ("integer", None), FieldType.BOOL: ("boolean", None),
    FieldType.MAP: ("object", None), FieldType.KVPAIRS: ("object", None), FieldType.HEADER: ("object", None),
    FieldType.SLICE: ("array", "object"), FieldType.STRING_SLICE: ("array", "string"),
    FieldType.COMMA_STRING_SLICE: ("array", "string"), FieldType.COMMA_INT_SLICE: ("array", "integer"),
    FieldType.DURATION: ("string", "seconds"),
}


@dataclass(frozen=True)
class Field:
    type: FieldType = FieldType.STRING
    description: str = ""
    default: Any = None
    required: bool = False
    allowed_values: tuple[Any, ...] = ()
    query: bool = False  # may come from the query string (GET/LIST)
    deprecated: bool = False
    sensitive: bool = False  # never echoed back in errors


_DUR = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """Seconds from an int, a numeric string, or a Go-style duration ("1h30m", "90s", "2d")."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str):
        raise ValueError("not a duration")
    s = value.strip()
    if s == "":
        return 0
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    pos, total = 0, 0.0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            raise ValueError("not a duration")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError("not a duration")
    return int(total)


def format_duration(seconds: int) -> str:
    """Go's time.Duration String() for whole seconds, as Vault shows TTLs in some places."""
    if seconds == 0:
        return "0s"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    out = f"{h}h" if h else ""
    if h or m:
        out += f"{m}m"
    return out + f"{s}s"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "t", "true", "yes", "y", "on"):
            return True
        if v in ("0", "f", "false", "no", "n", "off", ""):
            return False
    raise ValueError("not a boolean")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError("not an integer")


def _str_list(value: Any, *, comma: bool) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        if comma:
            return [p.strip() for p in value.split(",") if p.strip()]
        return [value]
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            if isinstance(v, (dict, list)):
                raise ValueError("not a list of strings")
            s = str(v).lower() if isinstance(v, bool) else str(v)
            out.extend([p.strip() for p in s.split(",") if p.strip()] if comma else [s])
        return out
    raise ValueError("not a list of strings")


def _map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.strip() == "":
            return {}
        parsed = orjson.loads(value)
        if isinstance(parsed, dict):
            return parsed
    raise ValueError("not a map")


def _kvpairs(value: Any) -> dict[str, str]:
    if isinstance(value, list):  # ["k=v", ...]
        out: dict[str, str] = {}
        for item in value:
            k, sep, v = str(item).partition("=")
            if not sep:
                raise ValueError("not key=value pairs")
            out[k] = v
        return out
    m = _map(value)
    return {str(k): v if isinstance(v, str) else str(v) for k, v in m.items()}


def coerce(ftype: FieldType, value: Any) -> Any:
    match ftype:
        case FieldType.STRING | FieldType.NAME:
            if isinstance(value, (dict, list)):
                raise ValueError("not a string")
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value) if not isinstance(value, str) else value
        case FieldType.LOWERCASE_STRING:
            return coerce(FieldType.STRING, value).lower()
        case FieldType.INT:
            return _int(value)
        case FieldType.BOOL:
            return _bool(value)
        case FieldType.DURATION:
            return parse_duration(value)
        case FieldType.MAP:
            return _map(value)
        case FieldType.KVPAIRS | FieldType.HEADER:
            return _kvpairs(value)
        case FieldType.SLICE:
            return value if isinstance(value, list) else [value]
        case FieldType.STRING_SLICE:
            return _str_list(value, comma=False)
        case FieldType.COMMA_STRING_SLICE:
            return _str_list(value, comma=True)
        case FieldType.COMMA_INT_SLICE:
            return [_int(v) for v in _str_list(value, comma=True)]
    raise ValueError("unknown field type")


def zero(ftype: FieldType) -> Any:
    return {
        FieldType.STRING: "", FieldType.LOWERCASE_STRING: "", FieldType.NAME: "", FieldType.INT: 0,
        FieldType.BOOL: False, FieldType.DURATION: 0, FieldType.MAP: {}, FieldType.KVPAIRS: {},
        FieldType.HEADER: {}, FieldType.SLICE: [], FieldType.STRING_SLICE: [], FieldType.COMMA_STRING_SLICE: [],
        FieldType.COMMA_INT_SLICE: [],
    }[ftype]


class FieldData:
    """Validated access to a request's fields: URL captures merged over the body, typed on access."""

    def __init__(self, raw: Mapping[str, Any], schema: Mapping[str, Field]) -> None:
        self.raw = dict(raw)
        self.schema = schema

    def validate(self) -> None:
        for name, spec in self.schema.items():
            if name in self.raw and self.raw[name] is not None:
                self.get(name)
            elif spec.required:
                raise InvalidRequest(f"missing required field '{name}'")

    def get_ok(self, name: str) -> tuple[Any, bool]:
        spec = self.schema.get(name)
        if spec is None:
            raise KeyError(f"field {name!r} is not in the schema")
        if name not in self.raw or self.raw[name] is None:
            default = spec.default
            if default is None:
                return zero(spec.type), False
            return (default() if callable(default) else default), False
        try:
            value = coerce(spec.type, self.raw[name])
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise InvalidRequest(
                f"error converting input for field {name!r}: expected {spec.type.value}"
            ) from None
        if spec.allowed_values and value not in spec.allowed_values:
            allowed = ", ".join(map(str, spec.allowed_values))
            raise InvalidRequest(f"field {name!r} must be one of: {allowed}")
        return value, True

    def get(self, name: str) -> Any:
        return self.get_ok(name)[0]

    def has(self, name: str) -> bool:
        return name in self.raw and self.raw[name] is not None


__all__ = ["Field", "FieldData", "FieldType", "format_duration", "parse_duration"]
