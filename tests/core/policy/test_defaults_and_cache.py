"""Built-in policies, the ACL cache and the package's public surface."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

import strongroom.core.policy as policy_pkg
from strongroom.core.policy import (
    ACL,
    ACLCache,
    Policy,
    builtin_policies,
    default_policy,
    parse_policy,
    response_wrapping_policy,
    root_policy,
)
from strongroom.sdk.operations import Operation as Op


@pytest.mark.parametrize(
    ("path", "op"),
    [
        ("auth/token/lookup-self", Op.READ),
        ("auth/token/renew-self", Op.UPDATE),
        ("auth/token/revoke-self", Op.UPDATE),
        ("sys/capabilities-self", Op.UPDATE),
        ("sys/internal/ui/resultant-acl", Op.READ),
        ("sys/renew", Op.UPDATE),
        ("sys/leases/renew", Op.UPDATE),
        ("sys/leases/lookup", Op.UPDATE),
        ("cubbyhole/anything/deep", Op.CREATE),
        ("cubbyhole/x", Op.LIST),
        ("sys/wrapping/wrap", Op.UPDATE),
        ("sys/wrapping/lookup", Op.UPDATE),
        ("sys/wrapping/unwrap", Op.UPDATE),
        ("sys/tools/hash", Op.UPDATE),
        ("sys/tools/hash/sha2-256", Op.UPDATE),
        ("identity/oidc/provider/my-provider/authorize", Op.READ),
    ],
)
def test_default_policy_grants(path: str, op: Op) -> None:
    assert ACL.compile([default_policy()]).check(path, op).allowed


@pytest.mark.parametrize(
    ("path", "op"),
    [
        ("auth/token/lookup-self", Op.UPDATE),
        ("auth/token/create", Op.UPDATE),
        ("sys/policies/acl/default", Op.READ),
        ("secret/data/x", Op.READ),
        ("sys/tools/random", Op.UPDATE),
        ("cubbyhole", Op.READ),
        ("sys/mounts", Op.READ),
    ],
)
def test_default_policy_denies(path: str, op: Op) -> None:
    assert not ACL.compile([default_policy()]).check(path, op).allowed


def test_builtins() -> None:
    builtins = builtin_policies()
    assert set(builtins) == {"default", "root", "response-wrapping"}
    assert builtins["default"].templated  # the identity entity paths
    wrapping = ACL.compile([response_wrapping_policy()])
    assert wrapping.capabilities("cubbyhole/response") == ["create", "read"]
    assert root_policy().is_root and ACL.compile([root_policy()]).is_root


def _load(names: frozenset[str]) -> list[Policy]:
    return [parse_policy(n, f'path "{n}/*" {{ capabilities = ["read"] }}') for n in sorted(names)]


def test_cache_hits_misses_generations_and_eviction() -> None:
    cache = ACLCache(maxsize=2)
    a = cache.get_or_compile(["x", "y"], 1, _load)
    assert cache.get_or_compile(["y", "x"], 1, _load) is a  # order of names does not matter
    assert (cache.hits, cache.misses) == (1, 1)
    b = cache.get_or_compile(["x", "y"], 2, _load)  # the store changed: a new ACL
    assert b is not a
    cache.get_or_compile(["z"], 2, _load)
    assert len(cache) == 2
    assert cache.get(["x", "y"], 1) is None  # evicted, least recently used
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        ACLCache(0)


def test_cache_drops_acls_past_their_rule_expiration() -> None:
    cache = ACLCache()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    policy = parse_policy("p", f'path "a" {{ capabilities = ["read"]  expiration = "{expires.isoformat()}" }}')
    acl = ACL.compile([policy])
    cache.put(["p"], 1, acl)
    assert cache.get(["p"], 1) is acl
    assert cache.get(["p"], 1, now=expires + dt.timedelta(seconds=1)) is None


def test_cache_is_thread_safe() -> None:
    cache = ACLCache(maxsize=8)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for j in range(60):
                acl = cache.get_or_compile([f"n{(i + j) % 12}"], j % 3, _load)
                assert acl.check(f"n{(i + j) % 12}/x", Op.READ).allowed
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) <= 8


def test_public_surface_is_pinned() -> None:
    assert sorted(policy_pkg.__all__) == sorted(
        [
            "ACL",
            "ACLCache",
            "Capability",
            "DEFAULT_POLICY",
            "DEFAULT_POLICY_HCL",
            "Decision",
            "ExplainedRule",
            "Explanation",
            "IMMUTABLE_POLICIES",
            "NON_ASSIGNABLE_POLICIES",
            "OPERATION_CAPABILITY",
            "PathRule",
            "Policy",
            "RESPONSE_WRAPPING_POLICY",
            "RESPONSE_WRAPPING_POLICY_HCL",
            "ROOT_POLICY",
            "RuleKind",
            "builtin_policies",
            "check_policy_deletable",
            "check_policy_writable",
            "default_policy",
            "normalize_policy_name",
            "parse_duration",
            "parse_policy",
            "response_wrapping_policy",
            "root_policy",
            "sanitize_policy_names",
        ]
    )
    for name in policy_pkg.__all__:
        assert hasattr(policy_pkg, name)


def test_acl_is_immutable() -> None:
    acl = ACL.compile([default_policy()])
    with pytest.raises(AttributeError):
        acl.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        acl.is_root = True  # type: ignore[misc]
    assert "default" in repr(acl)
