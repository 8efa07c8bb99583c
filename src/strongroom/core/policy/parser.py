"""Policy text (HCL or JSON) -> `Policy`, with OpenBao's validation rules and error wording.

Accepted per-path keys: capabilities, the deprecated `policy` shorthand, allowed_parameters,
denied_parameters, required_parameters, min_wrapping_ttl, max_wrapping_ttl, expiration, comment.
Keys that would *restrict* access in OpenBao but that Strongroom does not enforce yet (mfa_methods,
control_group, pagination_limit, list_scan_response_keys_filter_path) are rejected rather than ignored,
so a policy never grants more here than it would there.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from strongroom.core.policy._syntax import body_pairs, load_document
from strongroom.core.policy.model import (
    CAPABILITY_BY_NAME,
    IGNORED_CAPABILITIES,
    LEGACY_POLICY,
    Capability,
    ParamValues,
    PathRule,
    Policy,
    RuleKind,
)
from strongroom.core.policy.names import normalize_policy_name
from strongroom.sdk.errors import InvalidRequest

_VALID_KEYS = frozenset(
    {
        "comment",
        "policy",
        "capabilities",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
        "expiration",
    }
)
_UNSUPPORTED_KEYS = frozenset(
    {"mfa_methods", "control_group", "pagination_limit", "list_scan_response_keys_filter_path"}
)
_TEMPLATE = re.compile(r"\{\{\s*[A-Za-z0-9_.\[\]\"' -]+\s*\}\}")


def parse_policy(name: str, text: str, *, now: dt.datetime | None = None) -> Policy:
    """Parse and validate one policy. Raises `InvalidRequest` with a message fit for the API client.

    Paths whose `expiration` is already past are dropped, as OpenBao does.
    """
    policy_name = normalize_policy_name(name)
    if not isinstance(text, str):
        raise InvalidRequest("failed to parse policy: policy text must be a string")
    _, blocks = load_document(text)
    now = now or dt.datetime.now(dt.UTC)
    rules: list[PathRule] = []
    for pattern, body in blocks:
        rule = _parse_rule(pattern, body)
        if rule.expiration is not None and rule.expiration <= now:
            continue
        rules.append(rule)
    return Policy(
        name=policy_name,
        rules=tuple(rules),
        raw=text,
        templated=any(r.templated for r in rules),
    )


def _fail(pattern: str, message: str) -> InvalidRequest:
    return InvalidRequest(f'failed to parse policy: path "{pattern}": {message}')


def _parse_rule(written: str, body: object) -> PathRule:
    if not isinstance(body, dict):
        raise _fail(written, "expected a block { ... }")
    for key in body:
        if key in _UNSUPPORTED_KEYS:
            raise _fail(written, f'"{key}" is not supported by Strongroom')
        if key not in _VALID_KEYS:
            raise _fail(written, f'invalid key "{key}"')
    body = _normalize(body)

    pattern = written[1:] if written.startswith("/") else written
    kind, key = _classify(written, pattern)
    templated = "{{" in pattern
    if templated and not _TEMPLATE.search(pattern):
        raise _fail(written, "failed to validate policy templating: malformed {{...}} expression")

    caps = _capabilities(written, body)
    expiration = _expiration(written, body.get("expiration"))
    if caps & Capability.DENY:
        # Like OpenBao: a deny path carries nothing else (parameters and TTLs are moot).
        return PathRule(pattern, kind, key, int(Capability.DENY), expiration=expiration, templated=templated)

    min_ttl = _duration(written, "min_wrapping_ttl", body.get("min_wrapping_ttl"))
    max_ttl = _duration(written, "max_wrapping_ttl", body.get("max_wrapping_ttl"))
    if min_ttl and max_ttl and max_ttl < min_ttl:
        raise _fail(written, "max_wrapping_ttl cannot be less than min_wrapping_ttl")
    return PathRule(
        pattern=pattern,
        kind=kind,
        key=key,
        capabilities=caps,
        allowed_parameters=_param_map(written, "allowed_parameters", body.get("allowed_parameters")),
        denied_parameters=_param_map(written, "denied_parameters", body.get("denied_parameters")),
        required_parameters=_string_list(written, "required_parameters", body.get("required_parameters")),
        min_wrapping_ttl=min_ttl,
        max_wrapping_ttl=max_ttl,
        expiration=expiration,
        templated=templated,
    )


_LIST_KEYS = frozenset({"capabilities", "required_parameters"})
_MAP_KEYS = frozenset({"allowed_parameters", "denied_parameters"})


def _normalize(body: dict[str, Any]) -> dict[str, object]:
    """Fold repeated keys the way OpenBao's HCL decoder does: lists concatenate, maps merge, and for
    scalars the last one wins. (pyhcl shows HCL repeats as nested lists; JSON repeats come as pairs.)"""
    grouped: dict[str, list[object]] = {}
    for key, value in body_pairs(body):
        grouped.setdefault(str(key), []).append(value)
    out: dict[str, object] = {}
    for key, values in grouped.items():
        if key in _LIST_KEYS:
            out[key] = _concat(values)
        elif key in _MAP_KEYS:
            out[key] = _merge_maps(values)
        else:
            last = values[-1]
            out[key] = last[-1] if isinstance(last, list) and last else last
    return out


def _concat(values: list[object]) -> object:
    merged: list[object] = []
    for value in values:
        if not isinstance(value, list):
            return value  # left for validation to reject, as OpenBao does (`capabilities = "read"`)
        for item in value:
            merged.extend(item if isinstance(item, list) else [item])
    return merged


def _merge_maps(values: list[object]) -> object:
    merged: dict[object, object] = {}
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                return value  # left for validation to reject
            merged.update(item)
    return merged


def _classify(written: str, pattern: str) -> tuple[RuleKind, str]:
    if "+*" in pattern:
        raise _fail(written, "invalid use of wildcards ('+*' is forbidden)")
    if "+" in pattern.split("/"):
        return RuleKind.SEGMENT, pattern
    if pattern.endswith("*"):
        return RuleKind.PREFIX, pattern[:-1]
    return RuleKind.EXACT, pattern


def _string_list(written: str, field: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(written, f"{field} must be a list of strings")
    return tuple(value)


def _capabilities(written: str, body: Mapping[str, object]) -> int:
    names = list(_string_list(written, "capabilities", body.get("capabilities")))
    legacy = body.get("policy")
    if legacy is not None:
        if not isinstance(legacy, str) or legacy not in LEGACY_POLICY:
            raise _fail(written, f'invalid policy "{legacy}" (expected one of deny, read, write, sudo)')
        names.extend(LEGACY_POLICY[legacy])
    bits = 0
    for cap in names:
        if cap == "deny":
            return int(Capability.DENY)  # like OpenBao, nothing after a deny is even looked at
        if cap in IGNORED_CAPABILITIES:
            continue
        flag = CAPABILITY_BY_NAME.get(cap)
        if flag is None:
            valid = ", ".join(sorted(CAPABILITY_BY_NAME))
            raise _fail(written, f'invalid capability "{cap}" (valid: {valid})')
        bits |= int(flag)
    return bits


def _param_map(written: str, field: str, value: object) -> Mapping[str, ParamValues] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(written, f'{field} must be a map of parameter name to a list of values, e.g. {{ "ttl" = [] }}')
    out: dict[str, ParamValues] = {}
    for param, values in value.items():
        if not isinstance(values, list):
            raise _fail(written, f'{field}: values of "{param}" must be a list (use [] for any value)')
        out[str(param).lower()] = tuple(values)
    return out


_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def parse_duration(value: object) -> float:
    """Vault's `ParseDurationSecond`: a number of seconds, "90", or a Go duration like "1h30m" / "2d"."""
    if isinstance(value, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a duration must be finite")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("a duration must be a number or a string")
    text = value.strip()
    if not text:
        return 0.0
    if re.fullmatch(r"\d+", text):
        return float(text)
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration {text!r}")
    return total


def _duration(written: str, field: str, value: object) -> float:
    if value is None:
        return 0.0
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise _fail(written, f"error parsing {field}: {exc}") from None
    if seconds < 0:
        raise _fail(written, f"error parsing {field}: negative duration")
    return seconds


def _expiration(written: str, value: object) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str):
            if value.isdigit():
                return dt.datetime.fromtimestamp(int(value), dt.UTC)
            when = dt.datetime.fromisoformat(value)
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _fail(written, "invalid expiration time (expected RFC 3339, e.g. 2030-01-02T15:04:05Z)")
