"""Policy-name rules shared by the policy store and the token store (OpenBao `policy_store.go`,
`policyutil.SanitizePolicies`)."""

from __future__ import annotations

from collections.abc import Iterable

from strongroom.sdk.errors import InvalidRequest

ROOT_POLICY = "root"
DEFAULT_POLICY = "default"
RESPONSE_WRAPPING_POLICY = "response-wrapping"

#: Policies nobody may write (their text is built in).
IMMUTABLE_POLICIES = frozenset({ROOT_POLICY, RESPONSE_WRAPPING_POLICY})
#: Policies that cannot be attached to a token by name.
NON_ASSIGNABLE_POLICIES = frozenset({RESPONSE_WRAPPING_POLICY})


def normalize_policy_name(name: str) -> str:
    """Names are trimmed and lower-cased everywhere (so `Admin` and `admin` are one policy)."""
    if not isinstance(name, str):
        raise InvalidRequest("policy name must be a string")
    cleaned = name.strip().lower()
    if not cleaned:
        raise InvalidRequest("policy name missing")
    return cleaned


def check_policy_writable(name: str) -> str:
    """Return the normalised name, or raise if the policy is built in and read-only."""
    cleaned = normalize_policy_name(name)
    if cleaned in IMMUTABLE_POLICIES:
        raise InvalidRequest(f'cannot update "{cleaned}" policy')
    return cleaned


def check_policy_deletable(name: str) -> str:
    """Return the normalised name, or raise for `root`, `response-wrapping` and `default`."""
    cleaned = normalize_policy_name(name)
    if cleaned in IMMUTABLE_POLICIES:
        raise InvalidRequest(f'cannot delete "{cleaned}" policy')
    if cleaned == DEFAULT_POLICY:
        raise InvalidRequest("cannot delete default policy")
    return cleaned


def sanitize_policy_names(names: Iterable[str], *, add_default: bool = True) -> list[str]:
    """A token's policy list as Vault stores it: lower-cased, deduplicated, sorted, `default` added
    unless asked not to, and `["root"]` alone whenever root is present."""
    cleaned: set[str] = set()
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name == ROOT_POLICY:
            return [ROOT_POLICY]
        cleaned.add(name)
    if add_default:
        cleaned.add(DEFAULT_POLICY)
    return sorted(cleaned)
