"""Go builtins and the Sprig/ESO functions templates use. Errors raised here never carry argument values."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from strongroom.templating.execute import MISSING, FuncError, go_str, truth


def _s(v: Any) -> str:
    """Sprig's toString of an argument (MISSING counts as empty)."""
    return "" if v is MISSING or v is None else go_str(v)


def _b(v: Any) -> bytes:
    return v if isinstance(v, bytes) else _s(v).encode("utf-8", "surrogateescape")


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def b64dec(v: Any) -> str:
    try:
        return _text(base64.b64decode(_b(v), validate=True))
    except (binascii.Error, ValueError):
        raise FuncError("illegal base64 data") from None


def b32dec(v: Any) -> str:
    try:
        return _text(base64.b32decode(_b(v)))
    except (binascii.Error, ValueError):
        raise FuncError("illegal base32 data") from None


def _plain(v: Any) -> Any:
    if v is MISSING:
        return None
    if isinstance(v, bytes):
        return _text(v)
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def to_json(v: Any) -> str:
    return json.dumps(_plain(v), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def to_pretty_json(v: Any) -> str:
    return json.dumps(_plain(v), indent=2, sort_keys=True, ensure_ascii=False)


def from_json(v: Any) -> Any:
    try:
        return json.loads(_s(v))
    except ValueError:
        raise FuncError("input is not valid JSON") from None


def to_yaml(v: Any) -> str:
    return yaml.safe_dump(_plain(v), default_flow_style=False, sort_keys=True, allow_unicode=True).rstrip("\n")


def from_yaml(v: Any) -> Any:
    try:
        return yaml.safe_load(_s(v))
    except yaml.YAMLError:
        raise FuncError("input is not valid YAML") from None


def default(dflt: Any, *given: Any) -> Any:
    if not given:
        return dflt
    return given[0] if truth(given[0]) else dflt


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, Mapping):
            v = v.get(k, MISSING) if k in v else None
        elif isinstance(v, (list, tuple, str, bytes)):
            if not isinstance(k, int) or not 0 <= k < len(v):
                raise FuncError("index out of range")
            v = v[k]
        else:
            raise FuncError("can't index item")
    return v


def _cmp(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, bool) != isinstance(b, bool) or (isinstance(a, str) != isinstance(b, str)):
        raise FuncError("incompatible types for comparison")
    return a, b


def eq(a: Any, *bs: Any) -> bool:
    if not bs:
        raise FuncError("missing argument for comparison")
    a = None if a is MISSING else a
    return any(a == (None if b is MISSING else b) for b in bs)


def lt(a: Any, b: Any) -> bool:
    x, y = _cmp(a, b)
    return bool(x < y)


def printf(fmt: Any, *args: Any) -> str:
    """Go's Printf for the verbs templates use: %s %v %d %q %x %f %%."""
    out, i, fmt_s, it = [], 0, _s(fmt), iter(args)
    while i < len(fmt_s):
        c = fmt_s[i]
        if c != "%" or i + 1 >= len(fmt_s):
            out.append(c)
            i += 1
            continue
        verb = fmt_s[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        arg: Any = next(it, MISSING)
        if arg is MISSING:
            out.append(f"%!{verb}(MISSING)")
        elif verb in "sv":
            out.append(go_str(arg))
        elif verb == "d":
            out.append(str(int(arg)))
        elif verb == "q":
            out.append(json.dumps(go_str(arg)))
        elif verb == "x":
            out.append(_b(arg).hex() if isinstance(arg, (str, bytes)) else format(int(arg), "x"))
        elif verb == "f":
            out.append(f"{float(arg):f}")
        else:
            out.append(go_str(arg))
    return "".join(out)


def _indent(n: Any, v: Any) -> str:
    pad = " " * int(n)
    return pad + _s(v).replace("\n", "\n" + pad)


def _dict(*kv: Any) -> dict[str, Any]:
    return {_s(kv[i]): (kv[i + 1] if i + 1 < len(kv) else "") for i in range(0, len(kv), 2)}


def _split(sep: Any, v: Any) -> dict[str, str]:
    return {f"_{i}": p for i, p in enumerate(_s(v).split(_s(sep)))}


def _trunc(n: Any, v: Any) -> str:
    s, n = _s(v), int(n)
    return s[:n] if n >= 0 else s[n:]


def _regex(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(_s(pattern))
    except re.error:
        raise FuncError("invalid regular expression") from None


def _keys(*maps: Any) -> list[str]:
    return [str(k) for m in maps for k in (m or {})]


def _len(v: Any) -> int:
    if v is MISSING or v is None:
        return 0
    if not isinstance(v, (str, bytes, list, tuple, dict)):
        raise FuncError("len of unsupported type")
    return len(v)


def _hash(name: str) -> Callable[[Any], str]:
    return lambda v: hashlib.new(name, _b(v)).hexdigest()


FUNCS: dict[str, Callable[..., Any]] = {
    # Go builtins
    "and": lambda *a: a[-1], "or": lambda *a: a[-1], "not": lambda v: not truth(v),
    "eq": eq, "ne": lambda a, b: not eq(a, b), "lt": lt, "le": lambda a, b: lt(a, b) or eq(a, b),
    "gt": lambda a, b: lt(b, a), "ge": lambda a, b: lt(b, a) or eq(a, b),
    "index": _index, "len": _len, "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n", "printf": printf,
    "html": lambda v: _s(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    "urlquery": lambda *a: __import__("urllib.parse").parse.quote_plus("".join(_s(x) for x in a)),
    # encoding
    "b64enc": lambda v: base64.b64encode(_b(v)).decode(), "b64dec": b64dec,
    "b32enc": lambda v: base64.b32encode(_b(v)).decode(), "b32dec": b32dec,
    "toJson": to_json, "mustToJson": to_json, "toRawJson": to_json, "toPrettyJson": to_pretty_json,
    "fromJson": from_json, "mustFromJson": from_json, "toYaml": to_yaml, "fromYaml": from_yaml,
    "sha1sum": _hash("sha1"), "sha256sum": _hash("sha256"), "sha512sum": _hash("sha512"),
    # strings
    "upper": lambda v: _s(v).upper(), "lower": lambda v: _s(v).lower(), "title": lambda v: _s(v).title(),
    "trim": lambda v: _s(v).strip(), "trimAll": lambda c, v: _s(v).strip(_s(c)),
    "trimPrefix": lambda p, v: _s(v).removeprefix(_s(p)), "trimSuffix": lambda p, v: _s(v).removesuffix(_s(p)),
    "quote": lambda *a: " ".join(json.dumps(_s(x), ensure_ascii=False) for x in a if x is not None),
    "squote": lambda *a: " ".join(f"'{_s(x)}'" for x in a if x is not None),
    "replace": lambda old, new, v: _s(v).replace(_s(old), _s(new)),
    "contains": lambda sub, v: _s(sub) in _s(v), "hasPrefix": lambda p, v: _s(v).startswith(_s(p)),
    "hasSuffix": lambda p, v: _s(v).endswith(_s(p)), "repeat": lambda n, v: _s(v) * int(n),
    "nospace": lambda v: re.sub(r"\s", "", _s(v)), "trunc": _trunc, "indent": _indent,
    "nindent": lambda n, v: "\n" + _indent(n, v), "toString": _s, "cat": lambda *a: " ".join(
        _s(x) for x in a if x is not None and x is not MISSING),
    "split": _split, "splitList": lambda sep, v: _s(v).split(_s(sep)),
    "join": lambda sep, v: _s(sep).join(_s(x) for x in (v or [])),
    "regexMatch": lambda p, v: _regex(p).search(_s(v)) is not None,
    "regexReplaceAll": lambda p, v, r: _regex(p).sub(re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", _s(r)), _s(v)),
    "regexFind": lambda p, v: (m.group() if (m := _regex(p).search(_s(v))) else ""),
    # defaults, flow
    "default": default, "empty": lambda v: not truth(v), "coalesce": lambda *a: next(
        (x for x in a if truth(x)), None), "ternary": lambda t, f, c: t if truth(c) else f,
    "required": lambda msg, v: v if truth(v) else (_ for _ in ()).throw(FuncError(_s(msg))),
    # collections
    "list": lambda *a: list(a), "dict": _dict, "get": lambda m, k: (m or {}).get(_s(k), ""),
    "hasKey": lambda m, k: _s(k) in (m or {}), "keys": _keys, "first": lambda v: v[0] if v else None,
    "last": lambda v: v[-1] if v else None, "sortAlpha": lambda v: sorted(_s(x) for x in v),
    "pick": lambda m, *ks: {k: m[k] for k in ks if k in m}, "omit": lambda m, *ks: {
        k: v for k, v in m.items() if k not in ks},
    "merge": lambda d, *ms: {**{k: v for m in reversed(ms) for k, v in m.items()}, **d},
    # numbers
    "int": lambda v: int(float(_s(v) or 0)) if not isinstance(v, (int, float)) else int(v),
    "atoi": lambda v: int(_s(v)), "add": lambda *a: sum(int(x) for x in a), "sub": lambda a, b: int(a) - int(b),
}
