"""Evaluate a parsed template against a context, with Go's semantics for truth, printing and missing keys."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from strongroom.templating.errors import TemplateError
from strongroom.templating.parse import Node, Operand, Pipe, Pos

NO_VALUE = "<no value>"


class _Missing:
    def __str__(self) -> str:
        return NO_VALUE


MISSING = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def truth(v: Any) -> bool:
    """Go's `if`: false, 0, nil, and empty strings/collections are false."""
    if v is None or v is MISSING:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, bytes, list, tuple, dict, set)):
        return len(v) > 0
    return True


def go_float(v: float) -> str:
    """fmt's %v of a float64: shortest digits, exponent form below 1e-4 or from 1e21 (`1e+21`, `+Inf`)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    d = Decimal(repr(v)).normalize()
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    x = len(digits) + exp - 1
    if -4 <= x < 21:
        return format(d, "f")
    mant = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"


def go_str(v: Any) -> str:
    """fmt's %v for the values templates handle."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, Mapping):
        return "map[" + " ".join(f"{go_str(k)}:{go_str(v[k])}" for k in sorted(v, key=str)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


class Executor:
    def __init__(self, name: str, funcs: Mapping[str, Callable[..., Any]], *, missing_key: str = "error") -> None:
        self.name, self.funcs, self.missing_key = name, funcs, missing_key

    def error(self, msg: str, pos: Pos, at: str = "") -> TemplateError:
        detail = f'executing "{self.name}" at <{at}>: {msg}' if at else f'executing "{self.name}": {msg}'
        return TemplateError(detail, template=self.name, line=pos.line, col=pos.col)

    def run(self, nodes: list[Node], data: Any) -> str:
        out: list[str] = []
        self._walk(nodes, data, [{"$": data}], out)
        return "".join(out)

    def _walk(self, nodes: list[Node], dot: Any, scopes: list[dict[str, Any]], out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "action":
                assert node.pipe is not None
                value = self._pipe(node.pipe, dot, scopes)
                if not node.pipe.decls:
                    out.append(go_str(value))
            elif node.kind in ("if", "with"):
                assert node.pipe is not None
                scopes.append({})
                try:
                    value = self._pipe(node.pipe, dot, scopes)
                    if truth(value):
                        self._walk(node.body, value if node.kind == "with" else dot, scopes, out)
                    else:
                        self._walk(node.else_body, dot, scopes, out)
                finally:
                    scopes.pop()
            elif node.kind == "range":
                self._range(node, dot, scopes, out)
            elif node.kind == "break":
                raise _Break()
            elif node.kind == "continue":
                raise _Continue()

    def _range(self, node: Node, dot: Any, scopes: list[dict[str, Any]], out: list[str]) -> None:
        assert node.pipe is not None
        pipe = Pipe([], False, node.pipe.cmds, node.pipe.pos)
        value = self._pipe(pipe, dot, scopes)
        if isinstance(value, Mapping):
            pairs: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, (list, tuple)):
            pairs = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            pairs = [(i, i) for i in range(value)]
        elif value is None or value is MISSING:
            pairs = []
        else:
            raise self.error(f"range can't iterate over {type(value).__name__}", node.pos)
        if not pairs:
            self._walk(node.else_body, dot, scopes, out)
            return
        decls = node.pipe.decls
        for k, v in pairs:
            scope: dict[str, Any] = {}
            if len(decls) == 1:
                scope[decls[0]] = v
            elif len(decls) >= 2:
                scope[decls[0]], scope[decls[1]] = k, v
            scopes.append(scope)
            try:
                self._walk(node.body, v, scopes, out)
            except _Continue:
                continue
            except _Break:
                break
            finally:
                scopes.pop()

    def _pipe(self, pipe: Pipe, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        value: Any = MISSING
        for i, cmd in enumerate(pipe.cmds):
            value = self._command(cmd, dot, scopes, value if i else MISSING, piped=i > 0)
        for name in pipe.decls[:1]:
            if pipe.assign:
                for scope in reversed(scopes):
                    if name in scope:
                        scope[name] = value
                        break
                else:
                    raise self.error(f"undefined variable: {name}", pipe.pos)
            else:
                scopes[-1][name] = value
        return value

    def _command(self, cmd: list[Operand], dot: Any, scopes: list[dict[str, Any]], prev: Any, *, piped: bool
                 ) -> Any:
        head = cmd[0]
        if head.kind == "ident":
            fn = self.funcs.get(head.value)
            if fn is None:
                raise self.error(f'function "{head.value}" not defined', head.pos)
            if head.value in ("and", "or"):
                return self._logic(head, cmd[1:], dot, scopes, prev, piped)
            args = [self._operand(o, dot, scopes) for o in cmd[1:]]
            if piped:
                args.append(prev)
            try:
                return fn(*args)
            except TemplateError:
                raise
            except _FuncError as exc:
                raise self.error(f"error calling {head.value}: {exc}", head.pos, head.value) from None
            except Exception as exc:  # any failure of a function becomes a TemplateError
                # the underlying message could quote an argument (a secret): keep only its type
                raise self.error(f"error calling {head.value}: invalid arguments ({type(exc).__name__})",
                                 head.pos, head.value) from None
        if len(cmd) > 1 or piped:
            raise self.error("can't give argument to non-function", head.pos, _describe(head))
        return self._operand(head, dot, scopes)

    def _logic(self, head: Operand, ops: list[Operand], dot: Any, scopes: list[dict[str, Any]], prev: Any,
               piped: bool) -> Any:
        if not ops and not piped:
            raise self.error(f"wrong number of args for {head.value}: want at least 1 got 0", head.pos)
        result: Any = None
        for i in range(len(ops) + (1 if piped else 0)):  # short-circuit: later operands are not evaluated
            result = self._operand(ops[i], dot, scopes) if i < len(ops) else prev
            if (head.value == "and") != truth(result):
                return result
        return result

    def _operand(self, op: Operand, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        if op.kind == "lit":
            return op.value
        if op.kind == "nil":
            return None
        if op.kind == "field":
            return self._fields(dot, op.value, op)
        if op.kind == "var":
            name, fields = op.value
            for scope in reversed(scopes):
                if name in scope:
                    return self._fields(scope[name], fields, op)
            raise self.error(f"undefined variable: {name}", op.pos)
        if op.kind == "pipe":
            return self._pipe(op.value, dot, scopes)
        if op.kind == "chain":
            inner, names = op.value
            return self._fields(self._operand(inner, dot, scopes), names, op)
        if op.kind == "ident":
            return self._command([op], dot, scopes, MISSING, piped=False)
        raise self.error("bad operand", op.pos)

    def _fields(self, value: Any, names: list[str], op: Operand) -> Any:
        for name in names:
            if isinstance(value, Mapping):
                if name in value:
                    value = value[name]
                    continue
                if self.missing_key == "error":
                    raise self.error(f'map has no entry for key "{name}"', op.pos, _describe(op))
                value = MISSING if self.missing_key == "default" else None
                continue
            if value is None or value is MISSING:
                raise self.error(f"nil pointer evaluating .{name}", op.pos, _describe(op))
            raise self.error(f"can't evaluate field {name} in type {_go_type(value)}", op.pos, _describe(op))
        return value


class _FuncError(Exception):
    """Raised by template functions with a message that is safe to show (no argument values)."""


FuncError = _FuncError


def _describe(op: Operand) -> str:
    if op.kind == "field":
        return "." + ".".join(op.value)
    if op.kind == "var":
        name, fields = op.value
        return ".".join([name, *fields])
    if op.kind == "ident":
        return str(op.value)
    if op.kind == "chain":
        return "(...)." + ".".join(op.value[1])
    return op.kind


def _go_type(v: Any) -> str:
    return {str: "string", bytes: "[]uint8", int: "int", float: "float64", bool: "bool", list: "[]interface {}"
            }.get(type(v), type(v).__name__)
