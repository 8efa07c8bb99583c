"""The token_* fields every auth method's roles/users share (Vault's tokenutil), and the `Auth` they produce.

One place so userpass, approle and kubernetes parse, validate, show and apply them the same way. Deprecated
aliases (`policies`, `ttl`, `max_ttl`, `period`, `num_uses`, `bound_cidrs`) are accepted on write by the methods
that had them, and shown on read while the value was last written under the old name (as Vault/OpenBao do).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework.fields import Field, FieldData, FieldType
from strongroom.sdk.request import Auth

_D, _L = FieldType.DURATION, FieldType.COMMA_STRING_SLICE

TOKEN_FIELDS: dict[str, Field] = {
    "token_ttl": Field(_D, "The initial ttl of the token to generate"),
    "token_max_ttl": Field(_D, "The maximum lifetime of the generated token"),
    "token_policies": Field(_L, "A list of policies that will apply to the generated token for this user."),
    "token_bound_cidrs": Field(_L, "Comma separated string or JSON list of CIDR blocks. If set, specifies the "
                                   "blocks of IP addresses which are allowed to use the generated token."),
    "token_explicit_max_ttl": Field(_D, "If set, tokens created via this role carry an explicit maximum TTL."),
    "token_no_default_policy": Field(FieldType.BOOL, "If true, the 'default' policy will not automatically be "
                                                     "added to generated tokens"),
    "token_num_uses": Field(FieldType.INT, "The maximum number of times a token may be used, a value of zero "
                                           "means unlimited"),
    "token_period": Field(_D, "If set, tokens created via this role will have no max lifetime; instead, their "
                              "renewal period will be fixed to this value."),
    "token_type": Field(FieldType.STRING, "The type of token to generate, service or batch", default="default"),
}

# deprecated name -> token_* name
DEPRECATED: dict[str, str] = {"policies": "token_policies", "ttl": "token_ttl", "max_ttl": "token_max_ttl",
                              "period": "token_period", "num_uses": "token_num_uses",
                              "bound_cidrs": "token_bound_cidrs"}
_DEPRECATED_TYPES = {"policies": _L, "ttl": _D, "max_ttl": _D, "period": _D, "num_uses": FieldType.INT,
                     "bound_cidrs": _L}
LEGACY_KEY = "legacy_token_fields"  # stored: which deprecated names the values were last written under
TOKEN_TYPES = ("default", "service", "default-service")
DEFAULTS: dict[str, Any] = {"token_ttl": 0, "token_max_ttl": 0, "token_policies": [], "token_bound_cidrs": [],
                            "token_explicit_max_ttl": 0, "token_no_default_policy": False, "token_num_uses": 0,
                            "token_period": 0, "token_type": "default"}


def token_fields(deprecated: Iterable[str] = ("policies",)) -> dict[str, Field]:
    """The token_* schema plus the named deprecated aliases (Vault: userpass/approle/kubernetes differ)."""
    out = dict(TOKEN_FIELDS)
    for name in deprecated:
        out[name] = Field(_DEPRECATED_TYPES[name], f"Use '{DEPRECATED[name]}' instead.", deprecated=True)
    return out


def _check_cidrs(cidrs: list[str], field_name: str) -> list[str]:
    out = []
    for c in cidrs:
        try:
            out.append(str(ipaddress.ip_network(c, strict=False)))
        except ValueError:
            raise InvalidRequest(f"invalid CIDR block {c!r} in {field_name!r}") from None
    return out


def parse_token_fields(d: FieldData, stored: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """The token settings after applying this request's fields (and deprecated aliases) over `stored`."""
    out = dict(DEFAULTS) if create else {k: stored.get(k, v) for k, v in DEFAULTS.items()}
    for new in TOKEN_FIELDS:
        if d.has(new):
            out[new] = d.get(new)
    used = set() if create else set(stored.get(LEGACY_KEY, []))
    for old, new in DEPRECATED.items():
        if old in d.schema and d.has(old):
            if d.has(new):
                raise InvalidRequest(f"\"{old}\" and \"{new}\" cannot both be specified; use \"{new}\"")
            out[new] = d.get(old)
            used.add(old)
        elif d.has(new):
            used.discard(old)
    for dur in ("token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period"):
        if out[dur] < 0:
            raise InvalidRequest(f"\"{dur}\" cannot be negative")
    if out["token_num_uses"] < 0:
        raise InvalidRequest("\"token_num_uses\" cannot be negative")
    if out["token_max_ttl"] and out["token_ttl"] > out["token_max_ttl"]:
        raise InvalidRequest("\"token_ttl\" cannot be greater than \"token_max_ttl\"")
    if out["token_type"] in ("batch", "default-batch"):
        raise InvalidRequest("batch tokens are not supported; use \"service\" or \"default\"")
    if out["token_type"] not in TOKEN_TYPES:
        raise InvalidRequest(f"invalid \"token_type\" value {out['token_type']!r}: expected one of "
                             + ", ".join(TOKEN_TYPES))
    out["token_policies"] = sorted({p.strip().lower() for p in out["token_policies"] if p.strip()})
    out["token_bound_cidrs"] = _check_cidrs(list(out["token_bound_cidrs"]), "token_bound_cidrs")
    out[LEGACY_KEY] = sorted(used)
    return out


def token_data(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The read view: token_* values, plus each deprecated alias that was last written under its old name (as
    Vault shows them, so clients that wrote `policies` read `policies` back)."""
    out = {k: stored.get(k, v) for k, v in DEFAULTS.items()}
    for old in stored.get(LEGACY_KEY, []):
        out[old] = out[DEPRECATED[old]]
    return out


def fill_auth(stored: Mapping[str, Any], auth: Auth | None = None) -> Auth:
    """An `Auth` carrying the stored token settings; the core turns it into a token."""
    s = {k: stored.get(k, v) for k, v in DEFAULTS.items()}
    auth = auth or Auth()
    auth.policies = list(s["token_policies"])
    auth.token_policies = list(s["token_policies"])
    auth.ttl = int(s["token_ttl"])
    auth.max_ttl = int(s["token_max_ttl"])
    auth.explicit_max_ttl = int(s["token_explicit_max_ttl"])
    auth.period = int(s["token_period"])
    auth.num_uses = int(s["token_num_uses"])
    auth.no_default_policy = bool(s["token_no_default_policy"])
    auth.bound_cidrs = list(s["token_bound_cidrs"])
    auth.token_type = "service"
    auth.renewable = True
    return auth


def check_cidrs(cidrs: Iterable[str], remote_addr: str) -> bool:
    """True when no CIDRs are set or remote_addr falls in one of them (unknown address = not allowed)."""
    cidrs = list(cidrs)
    if not cidrs:
        return True
    try:
        addr = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(c, strict=False) for c in cidrs)


__all__ = ["DEPRECATED", "LEGACY_KEY", "TOKEN_FIELDS", "check_cidrs", "fill_auth", "parse_token_fields", "token_data",
           "token_fields"]
