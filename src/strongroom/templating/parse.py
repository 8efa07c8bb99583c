"""Lexer and parser for the Go `text/template` subset (see `strongroom.templating` for the language covered).

Hand-written: no maintained Python package implements Go's template language (`go-template` on PyPI is 2019
bindings). Output is a small tree of tuples-as-dataclasses evaluated by `strongroom.templating.execute`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from strongroom.templating.errors import TemplateError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:\\.|[^'\\])')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?))
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v", "0": "\0"}


@dataclass
class Pos:
    line: int
    col: int


@dataclass
class Operand:
    kind: str  # field | var | lit | ident | pipe | nil
    value: Any = None  # field: list of names; var: (name, [names]); lit: value; ident: name; pipe: Pipe
    pos: Pos = field(default_factory=lambda: Pos(0, 0))


@dataclass
class Pipe:
    decls: list[str]
    assign: bool  # `=` (assign existing) instead of `:=`
    cmds: list[list[Operand]]
    pos: Pos


@dataclass
class Node:
    kind: str  # text | action | if | with | range | break | continue | template
    text: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    else_body: list[Node] = field(default_factory=list)
    pos: Pos = field(default_factory=lambda: Pos(0, 0))


def _pos(src: str, offset: int) -> Pos:
    line = src.count("\n", 0, offset) + 1
    return Pos(line, offset - (src.rfind("\n", 0, offset) + 1) + 1)


def _unquote(tok: str) -> str:
    out, i, body = [], 0, tok[1:-1]
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
        else:
            raise ValueError(f"unknown escape sequence \\{nxt}")
    return "".join(out)


def _number(tok: str) -> int | float:
    clean = tok.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        return float(clean)


class _Actions:
    """Splits the source into text and `{{ }}` actions, applying `{{-` / `-}}` whitespace trimming."""

    def __init__(self, name: str, src: str, left: str = "{{", right: str = "}}") -> None:
        self.name, self.src, self.left, self.right = name, src, left, right

    def error(self, msg: str, offset: int) -> TemplateError:
        p = _pos(self.src, offset)
        return TemplateError(msg, template=self.name, line=p.line, col=p.col)

    def split(self) -> list[tuple[str, str, int]]:
        """[(text|action, content, offset)]"""
        src, out, i = self.src, [], 0
        trim_next = False
        while i <= len(src):
            j = src.find(self.left, i)
            text = src[i:] if j < 0 else src[i:j]
            if trim_next:
                text = text.lstrip(" \t\r\n")
            start = j + len(self.left)
            trim_prev = j >= 0 and src[start:start + 2] in ("- ", "-\t", "-\n", "-\r")
            if trim_prev:
                text = text.rstrip(" \t\r\n")
                start += 2
            if text:
                out.append(("text", text, i))
            if j < 0:
                break
            end = self._close(start)
            body = src[start:end]
            trim_next = body.endswith((" -", "\t-", "\n-", "\r-"))
            if trim_next:
                body = body[:-2]
            out.append(("action", body, start))
            i = end + len(self.right)
        return out

    def _close(self, start: int) -> int:
        src, i = self.src, start
        stripped = src[start:].lstrip()
        if stripped.startswith("/*"):
            end = src.find("*/", start)
            close = src.find(self.right, end) if end >= 0 else -1
            if close < 0:
                raise self.error("unclosed comment", start)
            return close
        quote = ""
        while i < len(src):
            c = src[i]
            if quote:
                if c == "\\" and quote != "`":
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in "\"`'":
                quote = c
            elif src.startswith(self.right, i):
                return i
            i += 1
        raise self.error("unclosed action", start)


class Parser:
    def __init__(self, name: str, src: str, left: str = "{{", right: str = "}}") -> None:
        self.name, self.src = name, src
        self.actions = _Actions(name, src, left, right)

    def error(self, msg: str, offset: int) -> TemplateError:
        return self.actions.error(msg, offset)

    def parse(self) -> list[Node]:
        items = self.actions.split()
        self._items, self._i = items, 0
        nodes, stop = self._list(())
        if stop is not None:
            raise self.error(f"unexpected {{{{{stop[0]}}}}}", stop[1])
        return nodes

    def _list(self, stops: tuple[str, ...]) -> tuple[list[Node], tuple[str, int, list[tuple[str, Any, int]]] | None]:
        nodes: list[Node] = []
        while self._i < len(self._items):
            kind, content, off = self._items[self._i]
            self._i += 1
            if kind == "text":
                nodes.append(Node("text", text=content, pos=_pos(self.src, off)))
                continue
            if content.strip().startswith("/*"):
                continue
            toks = self._tokens(content, off)
            if not toks:
                raise self.error("missing value for command", off)
            head = toks[0]
            word = head[1] if head[0] == "ident" else ""
            if word in ("end", "else"):
                if word not in stops:
                    raise self.error(f"unexpected {{{{{word}}}}}", off)
                return nodes, (word, off, toks[1:])
            if word in ("if", "with", "range"):
                nodes.append(self._control(word, toks[1:], off))
            elif word in ("break", "continue"):
                nodes.append(Node(word, pos=_pos(self.src, off)))
            elif word in ("define", "template", "block"):
                raise self.error(f"{{{{{word}}}}} is not supported by this template engine", off)
            else:
                nodes.append(Node("action", pipe=self._pipe(toks, off), pos=_pos(self.src, off)))
        if stops:
            raise self.error("unexpected EOF: missing {{end}}", len(self.src))
        return nodes, None

    def _control(self, word: str, toks: list[tuple[str, Any, int]], off: int) -> Node:
        if not toks:
            raise self.error(f"missing value for {word}", off)
        node = Node(word, pipe=self._pipe(toks, off), pos=_pos(self.src, off))
        node.body, stop = self._list(("end", "else"))
        assert stop is not None
        if stop[0] == "else":
            rest = stop[2]
            if rest and rest[0][0] == "ident" and rest[0][1] in ("if", "with") and word != "range":
                # `else if` / `else with` chain: a nested control that consumes our {{end}}
                node.else_body = [self._control(rest[0][1], rest[1:], stop[1])]
                return node
            if rest:
                raise self.error("unexpected tokens after else", stop[1])
            node.else_body, stop2 = self._list(("end",))
            assert stop2 is not None
        return node

    def _tokens(self, content: str, off: int) -> list[tuple[str, Any, int]]:
        toks: list[tuple[str, Any, int]] = []
        i = 0
        while i < len(content):
            m = _TOKEN.match(content, i)
            if not m or m.end() == i:
                raise self.error(f"unexpected character {content[i]!r} in action", off + i)
            kind = m.lastgroup or ""
            text = m.group()
            if kind != "ws":
                toks.append((kind, text, off + i))
            i = m.end()
        return toks

    def _pipe(self, toks: list[tuple[str, Any, int]], off: int) -> Pipe:
        pos = _pos(self.src, off)
        decls: list[str] = []
        assign, j, k, names = False, 0, 0, []
        while k < len(toks) and toks[k][0] == "var" and "." not in toks[k][1]:  # `$x :=`, `$k, $v :=`, `$x =`
            names.append(toks[k][1])
            k += 1
            if k < len(toks) and toks[k][0] == "comma":
                k += 1
                continue
            break
        if names and k < len(toks) and toks[k][0] in ("decl", "assign"):
            decls, assign, j = names, toks[k][0] == "assign", k + 1
        cmds, _ = self._commands(toks, j, off, closing=False)
        return Pipe(decls, assign, cmds, pos)

    def _commands(self, toks: list[tuple[str, Any, int]], j: int, off: int, *, closing: bool
                  ) -> tuple[list[list[Operand]], int]:
        cmds: list[list[Operand]] = []
        cur: list[Operand] = []
        while j < len(toks):
            kind, text, toff = toks[j]
            if kind == "rparen":
                if not closing:
                    raise self.error("unexpected right paren", toff)
                break
            if kind == "pipe":
                if not cur:
                    raise self.error("missing command before |", toff)
                cmds.append(cur)
                cur = []
                j += 1
                continue
            if kind == "lparen":
                sub, j = self._commands(toks, j + 1, off, closing=True)
                if j >= len(toks):
                    raise self.error("unclosed left paren", toff)
                op = Operand("pipe", Pipe([], False, sub, _pos(self.src, toff)), _pos(self.src, toff))
                close_off = toks[j][2]
                j += 1
                if j < len(toks) and toks[j][0] == "field" and toks[j][2] == close_off + 1 and toks[j][1] != ".":
                    op = Operand("chain", (op, toks[j][1][1:].split(".")), op.pos)  # `(expr).a.b`
                    j += 1
                cur.append(op)
                continue
            cur.append(self._operand(kind, text, toff))
            j += 1
        if closing and j >= len(toks):
            return cmds + ([cur] if cur else []), j
        if not cur:
            raise self.error("missing value for command", off)
        cmds.append(cur)
        return cmds, j

    def _operand(self, kind: str, text: str, off: int) -> Operand:
        pos = _pos(self.src, off)
        try:
            if kind == "str":
                return Operand("lit", _unquote(text), pos)
            if kind == "char":
                return Operand("lit", ord(_unquote(text)), pos)
        except (ValueError, IndexError):
            raise self.error("malformed string literal", off) from None
        if kind == "raw":
            return Operand("lit", text[1:-1], pos)
        if kind == "num":
            return Operand("lit", _number(text), pos)
        if kind == "field":
            return Operand("field", [] if text == "." else text[1:].split("."), pos)
        if kind == "var":
            name, *fields = text.split(".")
            return Operand("var", (name, fields), pos)
        if kind == "ident":
            if text in ("true", "false"):
                return Operand("lit", text == "true", pos)
            if text == "nil":
                return Operand("nil", None, pos)
            return Operand("ident", text, pos)
        raise self.error(f"unexpected {text!r} in command", off)


def parse(name: str, src: str, *, left: str = "{{", right: str = "}}") -> list[Node]:
    return Parser(name, src, left, right).parse()
