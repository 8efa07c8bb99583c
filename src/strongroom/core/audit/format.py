"""Per-device formatting: salted hashing of secrets, elision of list responses, JSON or JSONx, prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import orjson

from strongroom.core.audit.hashing import hash_structure, hash_value


@dataclass(frozen=True)
class FormatOptions:
    salt: bytes
    log_raw: bool = False
    hmac_accessor: bool = True
    elide_list_responses: bool = False
    fmt: str = "json"
    prefix: str = ""
    non_hmac_request_keys: frozenset[str] = frozenset()
    non_hmac_response_keys: frozenset[str] = frozenset()


def _hash_auth(o: FormatOptions, auth: dict[str, Any] | None) -> None:
    if not auth:
        return
    if auth.get("client_token"):
        auth["client_token"] = hash_value(o.salt, auth["client_token"])
    if auth.get("accessor") and o.hmac_accessor:
        auth["accessor"] = hash_value(o.salt, auth["accessor"])


def prepare(entry: dict[str, Any], o: FormatOptions) -> dict[str, Any]:
    e: dict[str, Any] = orjson.loads(orjson.dumps(entry))  # a private deep copy
    req = e.get("request", {})
    resp = e.get("response")
    if o.elide_list_responses and resp and req.get("operation") == "list" and isinstance(resp.get("data"), dict):
        keys = resp["data"].get("keys")
        if isinstance(keys, list):
            resp["data"]["keys"] = len(keys)
    if o.log_raw:
        return e
    _hash_auth(o, e.get("auth"))
    if req.get("client_token"):
        req["client_token"] = hash_value(o.salt, req["client_token"])
    if req.get("client_token_accessor") and o.hmac_accessor:
        req["client_token_accessor"] = hash_value(o.salt, req["client_token_accessor"])
    if req.get("data"):
        req["data"] = hash_structure(o.salt, req["data"], skip_keys=o.non_hmac_request_keys)
    if resp:
        if resp.get("data") is not None:
            resp["data"] = hash_structure(o.salt, resp["data"], skip_keys=o.non_hmac_response_keys)
        _hash_auth(o, resp.get("auth"))
        wrap = resp.get("wrap_info")
        if wrap:
            if wrap.get("token"):
                wrap["token"] = hash_value(o.salt, wrap["token"])
            for k in ("accessor", "wrapped_accessor"):
                if wrap.get(k) and o.hmac_accessor:
                    wrap[k] = hash_value(o.salt, wrap[k])
    return e


def _jsonx(value: Any, name: str | None = None) -> str:
    attr = f' name="{escape(name)}"' if name is not None else ""
    if isinstance(value, dict):
        inner = "".join(_jsonx(v, k) for k, v in value.items())
        return f"<json:object{attr}>{inner}</json:object>"
    if isinstance(value, list):
        return f"<json:array{attr}>{''.join(_jsonx(v) for v in value)}</json:array>"
    if isinstance(value, bool):
        return f"<json:boolean{attr}>{'true' if value else 'false'}</json:boolean>"
    if isinstance(value, (int, float)):
        return f"<json:number{attr}>{value}</json:number>"
    if value is None:
        return f"<json:null{attr} />"
    return f"<json:string{attr}>{escape(str(value))}</json:string>"


def render(entry: dict[str, Any], o: FormatOptions) -> bytes:
    e = prepare(entry, o)
    if o.fmt == "jsonx":
        body = ('<?xml version="1.0" encoding="UTF-8"?>' + _jsonx(e).replace(
            "<json:object>", '<json:object xmlns:json="http://www.ibm.com/xmlns/prod/2009/jsonx">', 1)).encode()
    else:
        body = orjson.dumps(e)
    return o.prefix.encode() + body + b"\n"
