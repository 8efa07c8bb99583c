"""The one error type of the template engine. Messages name templates, positions, keys and functions, never a
value being rendered (consul-template printed secret values in errors; ESO#3210 hid errors altogether)."""

from __future__ import annotations


class TemplateError(Exception):
    """Parse or execution failure. `.template`, `.line`, `.col` locate it; the message holds no values."""

    def __init__(self, message: str, *, template: str = "", line: int = 0, col: int = 0) -> None:
        where = f"{template}:{line}:{col}: " if template and line else (f"{template}: " if template else "")
        super().__init__(f"template: {where}{message}")
        self.template, self.line, self.col, self.detail = template, line, col, message
