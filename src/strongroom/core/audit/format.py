"""Per-device formatting: salted hashing of secrets, elision of list responses, JSON or JSONx, prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import orjson

from strongroom.core.audit.hashing import Hasher


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
    hasher: Hasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hasher", Hasher(self.salt))


def _hash_auth(o: FormatOptions, auth: dict[str, Any] | None) -> dict[str, Any] | None:
    if not auth:
        return auth
    auth = dict(auth)
    if auth.get("client_token"):
        auth["client_token"] = o.hasher(auth["client_token"])
    if auth.get("accessor") and o.hmac_accessor:
        auth["accessor"] = o.hasher(auth["accessor"])
    return auth


def _hash_wrap(o: FormatOptions, wrap: dict[str, Any]) -> dict[str, Any]:
    wrap = dict(wrap)
    if wrap.get("token"):
        wrap["token"] = o.hasher(wrap["token"])
    for k in ("accessor", "wrapped_accessor"):
        if wrap.get(k) and o.hmac_accessor:
            wrap[k] = o.hasher(wrap[k])
    return wrap


def prepare(entry: dict[str, Any], o: FormatOptions) -> dict[str, Any]:
    """A private copy of the entry with every secret hashed: containers that change are copied, the rest shared
    (the entry is only serialised afterwards, never mutated)."""
    e = dict(entry)
    req = dict(e.get("request") or {})
    resp = dict(e["response"]) if e.get("response") is not None else None
    if o.elide_list_responses and resp and req.get("operation") == "list" and isinstance(resp.get("data"), dict):
        data = dict(resp["data"])
        if isinstance(data.get("keys"), list):
            data["keys"] = len(data["keys"])
        resp["data"] = data
    if not o.log_raw:
        h = o.hasher
        e["auth"] = _hash_auth(o, e.get("auth"))
        if req.get("client_token"):
            req["client_token"] = h(req["client_token"])
        if req.get("client_token_accessor") and o.hmac_accessor:
            req["client_token_accessor"] = h(req["client_token_accessor"])
        if req.get("data"):
            req["data"] = h.structure(req["data"], o.non_hmac_request_keys)
        if resp:
            if resp.get("data") is not None:
                resp["data"] = h.structure(resp["data"], o.non_hmac_response_keys)
            resp["auth"] = _hash_auth(o, resp.get("auth"))
            if resp["auth"] is None:
                del resp["auth"]
            if resp.get("wrap_info"):
                resp["wrap_info"] = _hash_wrap(o, resp["wrap_info"])
    if "request" in e:
        e["request"] = req
    if resp is not None:
        e["response"] = resp
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
