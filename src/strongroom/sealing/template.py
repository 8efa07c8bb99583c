"""Render `spec.template.data` the way the sealed-secrets controller does: Go text/template + Sprig functions.

Hand-written because no maintained Python package implements Go's template language, and the controller
only needs a small part of it. The subset (documented in docs/sealing.md) is: text, `{{ }}` actions with
`{{-`/`-}}` trimming, comments, pipelines with `|`, parentheses, `.item`, `.`, `$`, string/raw/number/bool
literals, `if` / `else if` / `else` / `end`, Go's builtins (and, or, not, eq, ne, lt, le, gt, ge, index, len,
print, printf, println) and the common Sprig string functions. Anything else (range, with, define, variables,
unknown functions) fails with a TemplateError rather than rendering something different from upstream.
The context is a map item -> decrypted value as a string; a missing item prints `<no value>`, as in Go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.sealing.errors import TemplateError

__all__ = ["render_template", "render_templates"]

_NO_VALUE = "<no value>"
_ENC = "surrogateescape"  # Go strings are bytes: keep non-UTF-8 values byte-exact through rendering


class _Missing:
    def __str__(self) -> str:
        return _NO_VALUE


_MISSING = _Missing()


class _Fail(Exception):
    """Internal: a render or parse failure; its message never quotes a value."""


# --- functions ----------------------------------------------------------------------------------------------

def _text(v: Any) -> str:
    if v is None or v is _MISSING:
        return _NO_VALUE
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return v.decode("utf-8", _ENC)
    return str(v)


def _truth(v: Any) -> bool:
    return not (v is None or v is _MISSING or v is False or v == 0 or v == "" or v == [] or v == {})


def _index(container: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(container, Mapping):
            container = container.get(key, _MISSING)
        elif isinstance(container, (str, list)) and isinstance(key, int):
            try:
                container = container[key]
            except IndexError:
                raise _Fail("index out of range") from None
        else:
            raise _Fail("cannot index this value")
    return container


def _printf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    it = iter(args)
    i = 0
    while i < len(fmt):
        if fmt[i] != "%" or i + 1 >= len(fmt):
            out.append(fmt[i])
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        arg = next(it, _MISSING)
        if verb in "sv":
            out.append(_text(arg))
        elif verb == "d" and isinstance(arg, int):
            out.append(str(arg))
        elif verb == "q":
            out.append(json.dumps(_text(arg), ensure_ascii=False))
        else:
            raise _Fail(f"printf verb %{verb} is not supported")
    return "".join(out)


def _b64dec(s: Any) -> str:
    try:
        return base64.b64decode(_text(s).encode("utf-8", _ENC), validate=True).decode("utf-8", _ENC)
    except (binascii.Error, ValueError):
        raise _Fail("b64dec: input is not valid base64") from None


def _indent(n: int, s: Any) -> str:
    pad = " " * n
    return pad + _text(s).replace("\n", "\n" + pad)


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, b: Any) -> bool:
        try:
            return op(a, b)
        except TypeError:
            raise _Fail("incompatible types for comparison") from None
    return compare


def _default(d: Any, *given: Any) -> Any:
    return given[0] if given and _truth(given[0]) else d


def _plain(v: Any) -> Any:
    return None if v is _MISSING else v


def _bytes(s: Any) -> bytes:
    return _text(s).encode("utf-8", _ENC)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go builtins
    "and": lambda *a: next((x for x in a if not _truth(x)), a[-1]),
    "or": lambda *a: next((x for x in a if _truth(x)), a[-1]),
    "not": lambda a: not _truth(a),
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
    "lt": _cmp(lambda a, b: a < b), "le": _cmp(lambda a, b: a <= b),
    "gt": _cmp(lambda a, b: a > b), "ge": _cmp(lambda a, b: a >= b),
    "index": _index,
    "len": lambda a: len(_bytes(a)) if isinstance(a, str) else len(a),
    "print": lambda *a: "".join(_text(x) for x in a),
    "println": lambda *a: " ".join(_text(x) for x in a) + "\n",
    "printf": _printf,
    # Sprig (string and encoding functions; env/expandenv/getHostByName are excluded upstream too)
    "toJson": lambda a: json.dumps(_plain(a), ensure_ascii=False, separators=(",", ":")),
    "toPrettyJson": lambda a: json.dumps(_plain(a), ensure_ascii=False, indent=2),
    "b64enc": lambda s: base64.b64encode(_bytes(s)).decode(),
    "b64dec": _b64dec,
    "b32enc": lambda s: base64.b32encode(_bytes(s)).decode(),
    "upper": lambda s: _text(s).upper(), "lower": lambda s: _text(s).lower(),
    "title": lambda s: _text(s).title(),
    "trim": lambda s: _text(s).strip(), "trimAll": lambda c, s: _text(s).strip(c),
    "trimPrefix": lambda p, s: _text(s).removeprefix(p), "trimSuffix": lambda p, s: _text(s).removesuffix(p),
    "quote": lambda *a: " ".join(json.dumps(_text(x), ensure_ascii=False) for x in a if x is not None),
    "squote": lambda *a: " ".join(f"'{_text(x)}'" for x in a if x is not None),
    "replace": lambda old, new, s: _text(s).replace(old, new),
    "contains": lambda sub, s: sub in _text(s),
    "hasPrefix": lambda p, s: _text(s).startswith(p), "hasSuffix": lambda p, s: _text(s).endswith(p),
    "repeat": lambda n, s: _text(s) * n,
    "cat": lambda *a: " ".join(_text(x) for x in a if x is not None),
    "toString": _text,
    "default": _default,
    "empty": lambda a: not _truth(a),
    "indent": _indent, "nindent": lambda n, s: "\n" + _indent(n, s),
    "sha256sum": lambda s: hashlib.sha256(_bytes(s)).hexdigest(),
    "sha1sum": lambda s: hashlib.sha1(_bytes(s)).hexdigest(),  # noqa: S324 (Sprig compatibility, not security)
}


# --- parsing ------------------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:\\.|[^"\\])*") | (?P<raw>`[^`]*`) | (?P<num>-?\d+) |
    (?P<field>(?:\$|\.)?(?:\.[A-Za-z_]\w*)+|\.|\$) | (?P<ident>[A-Za-z_]\w*) | (?P<op>[()|])
)""", re.X)


_UNSUPPORTED = ("range", "with", "define", "template", "block", "break", "continue")


@dataclass
class _Node:
    kind: str  # "text" | "expr" | "if"
    value: Any = None
    branches: list[tuple[list[Any] | None, list[_Node]]] | None = None


def _tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    src = src.rstrip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise _Fail(f"unsupported syntax at column {pos + 1} of an action")
        pos = m.end()
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
    return out


def _parse_pipeline(toks: list[tuple[str, str]], pos: int) -> tuple[list[Any], int]:
    """pipeline := command ('|' command)*; a command is a list of operands."""
    commands: list[list[Any]] = [[]]
    while pos < len(toks):
        kind, val = toks[pos]
        if kind == "op" and val == ")":
            break
        pos += 1
        if kind == "op" and val == "|":
            commands.append([])
        elif kind == "op" and val == "(":
            inner, pos = _parse_pipeline(toks, pos)
            if pos >= len(toks) or toks[pos] != ("op", ")"):
                raise _Fail("unclosed parenthesis")
            pos += 1
            commands[-1].append(("pipe", inner))
        elif kind == "ident" and val in ("true", "false", "nil"):
            commands[-1].append(("lit", {"true": True, "false": False, "nil": None}[val]))
        elif kind == "ident":
            if val not in FUNCTIONS:
                raise _Fail(f"function {val!r} is not defined")
            commands[-1].append(("func", val))
        elif kind == "str":
            commands[-1].append(("lit", json.loads(val)))
        elif kind == "raw":
            commands[-1].append(("lit", val[1:-1]))
        elif kind == "num":
            commands[-1].append(("lit", int(val)))
        else:
            commands[-1].append(("field", val))
    if any(not c for c in commands):
        raise _Fail("empty command in pipeline")
    return commands, pos


def _parse_expr(src: str) -> list[Any]:
    toks = _tokens(src)
    pipeline, pos = _parse_pipeline(toks, 0)
    if pos != len(toks):
        raise _Fail("unexpected ')'")
    return pipeline


def _control(word: str, action: str, stack: list[_Node], body: list[_Node]) -> None:
    """Handle `if`, `else [if]` and `end`, which open, split and close branches."""
    if word == "if":
        node = _Node("if", branches=[(_parse_expr(action[2:]), [])])
        body.append(node)
        stack.append(node)
        return
    if not stack or stack[-1].branches is None:
        raise _Fail(f"unexpected {{{{{word}}}}}")
    if word == "end":
        stack.pop()
        return
    rest = action[4:].strip()
    if rest and not rest.startswith("if "):
        raise _Fail("unsupported else form")
    stack[-1].branches.append((_parse_expr(rest[2:]) if rest else None, []))


def _parse(source: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[_Node] = []  # open `if` nodes; text goes into the last branch of the innermost one

    def body() -> list[_Node]:
        return stack[-1].branches[-1][1] if stack and stack[-1].branches else root

    pos = 0
    for m in _ACTION.finditer(source):
        text = source[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        if text:
            body().append(_Node("text", text))
        pos = m.end()
        if m.group(3):
            while pos < len(source) and source[pos].isspace():
                pos += 1
        action = m.group(2).strip()
        word = action.split(None, 1)[0] if action else ""
        if action.startswith("/*") and action.endswith("*/"):
            continue
        if word in ("if", "else", "end"):
            _control(word, action, stack, body())
        elif word in _UNSUPPORTED:
            raise _Fail(f"{word or 'this action'} is not supported in sealed secret templates")
        else:
            body().append(_Node("expr", _parse_expr(action)))
    if stack:
        raise _Fail("unclosed {{if}}")
    tail = source[pos:]
    if tail:
        body().append(_Node("text", tail))
    return root


# --- evaluation ---------------------------------------------------------------------------------------------

def _field(path: str, dot: Any, root: Any) -> Any:
    value = root if path.startswith("$") else dot
    for part in path.lstrip("$").split(".")[1:]:
        if not part:
            continue
        if not isinstance(value, Mapping):
            raise _Fail(f"cannot read field {part!r} of a non-map value")
        value = value.get(part, _MISSING)
    return value


def _operand(op: tuple[str, Any], dot: Any, root: Any) -> Any:
    kind, val = op
    if kind == "lit":
        return val
    if kind == "field":
        return _field(val, dot, root)
    if kind == "pipe":
        return _eval(val, dot, root)
    return FUNCTIONS[val]()


def _eval(pipeline: list[list[Any]], dot: Any, root: Any) -> Any:
    result: Any = _MISSING
    for i, command in enumerate(pipeline):
        head = command[0]
        args = [_operand(op, dot, root) for op in command[1:]]
        if i > 0:
            args.append(result)
        if head[0] == "func":
            try:
                result = FUNCTIONS[head[1]](*args)
            except TypeError:
                raise _Fail(f"wrong number or type of arguments for {head[1]}") from None
        elif args:
            raise _Fail("only a function can take arguments")
        else:
            result = _operand(head, dot, root)
    return result


def _run(nodes: list[_Node], ctx: Mapping[str, str], out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.value)
        elif node.kind == "expr":
            out.append(_text(_eval(node.value, ctx, ctx)))
        else:
            for cond, body in node.branches or []:
                if cond is None or _truth(_eval(cond, ctx, ctx)):
                    _run(body, ctx, out)
                    break


def render_template(source: str, values: Mapping[str, bytes]) -> bytes:
    """Render one template; raises TemplateError (whose message quotes no value)."""
    ctx = {k: v.decode("utf-8", _ENC) for k, v in values.items()}
    out: list[str] = []
    try:
        _run(_parse(source), ctx, out)
    except (_Fail, RecursionError) as exc:
        raise TemplateError(str(exc)) from None
    return "".join(out).encode("utf-8", _ENC)


def render_templates(templates: Mapping[str, Any], values: Mapping[str, bytes]) -> dict[str, bytes]:
    """Render every `spec.template.data` entry; errors from all entries are reported together by item name."""
    rendered: dict[str, bytes] = {}
    errors: list[str] = []
    for key, source in templates.items():
        try:
            if not isinstance(source, str):
                raise TemplateError("the template is not a string")
            rendered[str(key)] = render_template(source, values)
        except TemplateError as exc:
            errors.append(f"{key}: {exc}")
    if errors:
        raise TemplateError("cannot render template data: " + "; ".join(errors),
                            [e.split(":", 1)[0] for e in errors])
    return rendered
