"""Parameter constraints (allowed / denied / required parameters), as OpenBao's `AllowOperation` applies
them. Messages name parameters, never their values (values can be secrets)."""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.core.policy.model import ParamValues


def glob_match(pattern: str, value: str) -> bool:
    """Vault's `GlobbedStringsMatch`: `*` only at the start and/or end; a lone `*` matches only `*`."""
    if len(pattern) < 2:
        return value == pattern
    starts, ends = pattern.startswith("*"), pattern.endswith("*")
    if starts and ends:
        return pattern[1:-1] in value
    if starts:
        return value.endswith(pattern[1:])
    if ends:
        return value.startswith(pattern[:-1])
    return value == pattern


def _strict_equal(a: object, b: object) -> bool:
    """Type-exact equality (like Go's DeepEqual): 1 != 1.0 != True, lists compared element-wise."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    return a == b


def value_allowed(value: object, listed: ParamValues) -> bool:
    """An empty list means "any value"; strings match with `glob_match`; other values by strict equality."""
    if not listed:
        return True
    for item in listed:
        if item is None or value is None:
            if item is value:
                return True
        elif isinstance(item, str) and isinstance(value, str):
            if glob_match(item, value):
                return True
        elif _strict_equal(item, value):
            return True
    return False


def parameter_violation(
    params: Mapping[str, object] | None,
    required: tuple[str, ...],
    allowed: Mapping[str, ParamValues] | None,
    denied: Mapping[str, ParamValues] | None,
) -> str | None:
    """None when the request's parameters satisfy the rule, else a reason (without values)."""
    data = params or {}
    for name in required:
        if name not in data:
            return f'required parameter "{name}" is missing'
    if not data:
        return None
    if denied:
        if "*" in denied:
            return "all parameters are denied on this path"
        for name, value in data.items():
            listed = denied.get(name.lower())
            if listed is not None and value_allowed(value, listed):
                return f'parameter "{name}" is denied'
    if not allowed:
        return None
    allow_any_name = "*" in allowed
    if allow_any_name and len(allowed) == 1:
        return None
    for name, value in data.items():
        listed = allowed.get(name.lower())
        if listed is None:
            if not allow_any_name:
                return f'parameter "{name}" is not in allowed_parameters'
        elif not value_allowed(value, listed):
            return f'this value of parameter "{name}" is not allowed'
    return None
