"""Logical operations. The server maps HTTP verbs to these; ACL capabilities are checked against them."""

from __future__ import annotations

import enum


class Operation(enum.StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    LIST = "list"
    HELP = "help"
    ALIAS_LOOKAHEAD = "alias-lookahead"
    RENEW = "renew"
    REVOKE = "revoke"
    ROLLBACK = "rollback"
