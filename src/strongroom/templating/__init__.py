"""Go `text/template` + Sprig subset, shared by ExternalSecret templates (ESO engine v2) and the agent.

Hand-written because no maintained Python package implements Go's template language. Covered: text and
`{{ }}` actions with `{{-`/`-}}` trimming and comments; pipelines with `|`; parentheses; `.a.b`, `.`, `$`,
variables (`$x := ...`, `$x = ...`, `range $k, $v := ...`); string/raw/char/number/bool/nil literals; `if` /
`else if` / `else` / `end`, `with` (and `else with`), `range` (maps in key order, lists, ints) with `break` /
`continue`; Go's builtins; and the Sprig functions in `FUNCS` (ESO's b64enc/b64dec, toJson/fromJson,
toYaml/fromYaml, upper/lower, trim, default, quote, ...). `define`/`template`/`block` and unknown functions
are errors, never silently different output. Missing map keys follow Go's `missingkey` option: `error` (ESO's
choice, the default here), `default` (prints `<no value>`), or `zero`.

Error messages give the template name, line, column, the expression and the function, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from strongroom.templating.errors import TemplateError
from strongroom.templating.execute import NO_VALUE, Executor, FuncError, go_str, truth
from strongroom.templating.funcs import FUNCS
from strongroom.templating.parse import Node, parse

__all__ = ["FUNCS", "NO_VALUE", "FuncError", "Template", "TemplateError", "go_str", "render", "truth"]


@lru_cache(maxsize=4096)
def _parsed(name: str, src: str, left: str, right: str) -> tuple[Node, ...]:
    return tuple(parse(name, src, left=left, right=right))


class Template:
    """A parsed template; `execute` many times. Parsing is cached by source text."""

    def __init__(self, src: str, *, name: str = "template", funcs: Mapping[str, Callable[..., Any]] | None = None,
                 missing_key: str = "error", delims: tuple[str, str] = ("{{", "}}")) -> None:
        if missing_key not in ("error", "default", "zero"):
            raise ValueError("missing_key must be error, default or zero")
        self.name = name
        self.nodes = list(_parsed(name, src, *delims))
        self.funcs = {**FUNCS, **(funcs or {})}
        self.missing_key = missing_key

    def execute(self, data: Any) -> str:
        return Executor(self.name, self.funcs, missing_key=self.missing_key).run(self.nodes, data)


def render(src: str, data: Any, *, name: str = "template", funcs: Mapping[str, Callable[..., Any]] | None = None,
           missing_key: str = "error") -> str:
    """Parse and execute in one go. Raises TemplateError."""
    return Template(src, name=name, funcs=funcs, missing_key=missing_key).execute(data)
