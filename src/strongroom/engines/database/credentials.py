"""Generated usernames and passwords.

Usernames come from a small subset of Go's text/template as Vault's `username_template` uses it: `.DisplayName`,
`.RoleName`, `random N`, `unix_time`, `unix_time_millis`, `uuid`, `printf`, and the pipes `truncate N`,
`truncate_sha256 N`, `lowercase`, `uppercase`, `replace OLD NEW`. Hand-written: no Python library speaks Go
templates, and the subset is small.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strongroom.sdk.errors import InvalidRequest

DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) '
    '| truncate 63 }}')
_ALNUM = string.ascii_letters + string.digits
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\(|\)|\||[^\s()|]+)')
SAFE_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,63}$")


def generate_password(length: int = 20) -> str:
    """Vault's default policy: 20 characters from [A-Za-z0-9-], at least one upper, lower, digit and dash."""
    alphabet = _ALNUM + "-"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.isupper() for c in pw) and any(c.islower() for c in pw) and any(c.isdigit() for c in pw)
                and "-" in pw):
            return pw


@dataclass
class _Ctx:
    display_name: str
    role_name: str


def render_username(template: str, display_name: str, role_name: str) -> str:
    ctx = _Ctx(display_name, role_name)
    out: list[str] = []
    pos = 0
    for m in re.finditer(r"\{\{(.*?)\}\}", template, re.DOTALL):
        out.append(template[pos:m.start()])
        tokens = [t for t in _TOKEN.findall(m.group(1)) if t]
        value, rest = _pipeline(tokens, ctx)
        if rest:
            raise InvalidRequest("username_template: unexpected tokens after an expression")
        out.append(str(value))
        pos = m.end()
    out.append(template[pos:])
    name = "".join(out)
    if not SAFE_USERNAME.match(name):
        raise InvalidRequest("username_template must produce 1-63 characters from [A-Za-z0-9_.@-]")
    return name


def _pipeline(tokens: list[str], ctx: _Ctx) -> tuple[Any, list[str]]:
    value, tokens = _command(tokens, ctx, None)
    while tokens and tokens[0] == "|":
        value, tokens = _command(tokens[1:], ctx, value)
    return value, tokens


def _operand(tokens: list[str], ctx: _Ctx) -> tuple[Any, list[str]]:
    if not tokens:
        raise InvalidRequest("username_template: missing operand")
    tok, rest = tokens[0], tokens[1:]
    if tok == "(":
        value, rest = _pipeline(rest, ctx)
        if not rest or rest[0] != ")":
            raise InvalidRequest("username_template: unbalanced parentheses")
        return value, rest[1:]
    if tok.startswith('"'):
        return tok[1:-1].replace('\\"', '"'), rest
    if tok == ".DisplayName":
        return ctx.display_name, rest
    if tok == ".RoleName":
        return ctx.role_name, rest
    if re.fullmatch(r"-?\d+", tok):
        return int(tok), rest
    if tok in ("unix_time", "unix_time_millis", "uuid", "timestamp"):
        return _command(tokens, ctx, None)
    raise InvalidRequest(f"username_template: unknown operand {tok[:32]!r}")


def _args(tokens: list[str], ctx: _Ctx) -> tuple[list[Any], list[str]]:
    args: list[Any] = []
    while tokens and tokens[0] not in ("|", ")"):
        value, tokens = _operand(tokens, ctx)
        args.append(value)
    return args, tokens


def _command(tokens: list[str], ctx: _Ctx, piped: Any) -> tuple[Any, list[str]]:
    if not tokens:
        raise InvalidRequest("username_template: empty expression")
    name = tokens[0]
    simple: dict[str, Callable[[], object]] = {
        "unix_time": lambda: int(time.time()), "unix_time_millis": lambda: int(time.time() * 1000),
        "uuid": lambda: str(uuid.uuid4()), "timestamp": lambda: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
    if name in simple and piped is None:
        return simple[name](), tokens[1:]
    funcs = {"printf", "random", "truncate", "truncate_sha256", "lowercase", "uppercase", "replace"}
    if name not in funcs:
        if piped is not None:
            raise InvalidRequest(f"username_template: unknown function {name[:32]!r}")
        return _operand(tokens, ctx)
    args, rest = _args(tokens[1:], ctx)
    if piped is not None:
        args.append(piped)
    return _call(name, args), rest


def _call(name: str, args: list[Any]) -> Any:
    try:
        if name == "printf":
            return _printf(str(args[0]), args[1:])
        if name == "random":
            return "".join(secrets.choice(_ALNUM) for _ in range(int(args[0])))
        if name == "truncate":
            return str(args[1])[: int(args[0])]
        if name == "truncate_sha256":
            n, s = int(args[0]), str(args[1])
            return s if len(s) <= n else s[: n - 8] + hashlib.sha256(s.encode()).hexdigest()[:8]
        if name == "lowercase":
            return str(args[0]).lower()
        if name == "uppercase":
            return str(args[0]).upper()
        return str(args[2]).replace(str(args[0]), str(args[1]))  # replace OLD NEW
    except (IndexError, ValueError):
        raise InvalidRequest(f"username_template: wrong arguments for {name}") from None


def _printf(fmt: str, args: list[Any]) -> str:
    it = iter(args)

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "%%":
            return "%"
        return str(next(it, ""))

    return re.sub(r"%%|%[sdv]", repl, fmt)


__all__ = ["DEFAULT_USERNAME_TEMPLATE", "generate_password", "render_username"]
