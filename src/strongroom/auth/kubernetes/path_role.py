"""role/ and role/:name: which service accounts may log in, and the tokens they get."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson
import yaml

from strongroom.sdk import InvalidRequest, Operation, Request, Response, Storage
from strongroom.sdk.framework import Field, FieldData, FieldType, Path, generic_name
from strongroom.sdk.tokenfields import parse_token_fields, token_data, token_fields

DEPRECATED = ("policies", "ttl", "max_ttl", "period", "num_uses", "bound_cidrs")
L, S = FieldType.COMMA_STRING_SLICE, FieldType.STRING
ALIAS_SOURCES = ("serviceaccount_uid", "serviceaccount_name")
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(S, "Name of the role."),
    "bound_service_account_names": Field(L, "Service account names able to log in (globs; \"*\" = any)."),
    "bound_service_account_namespaces": Field(L, "Namespaces allowed to log in (globs; \"*\" = any)."),
    "bound_service_account_namespace_selector": Field(S, "A label selector (JSON or YAML) for namespaces allowed "
                                                         "to log in; ORed with the namespace list."),
    "audience": Field(S, "Audience the JWT must carry; also sent to TokenReview."),
    "alias_name_source": Field(S, "serviceaccount_uid (default) or serviceaccount_name (<ns>/<name>).",
                               allowed_values=ALIAS_SOURCES),
    **token_fields(DEPRECATED),
}


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)


def glob_any(patterns: list[str], value: str) -> bool:
    """go-glob semantics, as Vault: only '*' is special and matches any run of characters."""
    return any(p == "*" or _glob(p).fullmatch(value) is not None for p in patterns)


def parse_selector(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        sel = yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError:
        raise InvalidRequest("invalid \"bound_service_account_namespace_selector\": not JSON or YAML") from None
    if not isinstance(sel, dict) or set(sel) - {"matchLabels", "matchExpressions"}:
        raise InvalidRequest("invalid \"bound_service_account_namespace_selector\": expected a label selector "
                             "with matchLabels and/or matchExpressions")
    for expr in sel.get("matchExpressions") or []:
        if not isinstance(expr, dict) or expr.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise InvalidRequest("invalid \"bound_service_account_namespace_selector\": bad matchExpressions")
    return sel


class RoleStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def get(self, name: str) -> dict[str, Any] | None:
        raw = await self.storage.get(f"role/{name.lower()}")
        return None if raw is None else dict(orjson.loads(raw))


def _validate(role: dict[str, Any]) -> None:
    names, namespaces = role["bound_service_account_names"], role["bound_service_account_namespaces"]
    if not names:
        raise InvalidRequest("\"bound_service_account_names\" can not be empty")
    if not namespaces and not role["bound_service_account_namespace_selector"]:
        raise InvalidRequest("\"bound_service_account_namespaces\" can not be empty if "
                             "\"bound_service_account_namespace_selector\" is not set")
    for field_name, values in (("bound_service_account_names", names),
                               ("bound_service_account_namespaces", namespaces)):
        if len(values) > 1 and "*" in values:
            raise InvalidRequest(f"can not mix \"*\" with values in \"{field_name}\"")
    parse_selector(role["bound_service_account_namespace_selector"])


def role_paths(roles: RoleStore) -> list[Path]:
    storage = roles.storage

    async def exists(req: Request, d: FieldData) -> bool:
        return await roles.get(d.get("name")) is not None

    async def write(req: Request, d: FieldData) -> None:
        name = d.get("name").lower()
        old = await roles.get(name)
        role: dict[str, Any] = dict(old or {})
        for k in ("bound_service_account_names", "bound_service_account_namespaces",
                  "bound_service_account_namespace_selector", "audience", "alias_name_source"):
            if d.has(k) or k not in role:
                role[k] = d.get(k)
        role["alias_name_source"] = role["alias_name_source"] or "serviceaccount_uid"
        role.update(parse_token_fields(d, role, create=old is None))
        _validate(role)
        await storage.put(f"role/{name}", orjson.dumps(role))

    async def read(req: Request, d: FieldData) -> Response | None:
        role = await roles.get(d.get("name"))
        if role is None:
            return None
        data = {k: role[k] for k in ("alias_name_source", "bound_service_account_names",
                                     "bound_service_account_namespace_selector", "bound_service_account_namespaces")}
        if role.get("audience"):
            data["audience"] = role["audience"]
        return Response(data={**data, **token_data(role)})

    async def delete(req: Request, d: FieldData) -> None:
        await storage.delete(f"role/{d.get('name').lower()}")

    async def list_roles(req: Request, d: FieldData) -> Response | None:
        keys = await storage.list("role/")
        return Response(data={"keys": keys}) if keys else None

    return [
        Path("role/?", {Operation.LIST: list_roles}, help_synopsis="Lists all the roles registered with the "
                                                                    "backend."),
        Path("role/" + generic_name("name"), {Operation.READ: read, Operation.UPDATE: write,
                                               Operation.CREATE: write, Operation.DELETE: delete},
             fields=ROLE_FIELDS, existence_check=exists, help_synopsis="Register a role with the backend."),
    ]


__all__ = ["RoleStore", "glob_any", "parse_selector", "role_paths"]
