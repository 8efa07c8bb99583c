"""ACL decisions: OpenBao's behaviour table by table (single policy, layered policies, parameters,
wrapping TTLs, granting policies), plus capabilities(), explain(), root, help and sudo."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from strongroom.core.policy import ACL, Decision, parse_policy, root_policy
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation as Op

R, U, C, D, L, P, H = Op.READ, Op.UPDATE, Op.CREATE, Op.DELETE, Op.LIST, Op.PATCH, Op.HELP

TEAM = """
path "dev/*"              { policy = "sudo" }
path "stage/*"            { policy = "write" }
path "stage/aws/*"        { policy = "read"  capabilities = ["update", "sudo"] }
path "stage/aws/policy/*" { policy = "sudo" }
path "prod/*"             { policy = "read" }
path "prod/aws/*"         { policy = "deny" }
path "sys/*"              { policy = "deny" }
path "foo/bar"            { capabilities = ["read", "create", "sudo"] }
path "baz/quux"           { capabilities = ["read", "create", "patch"] }
path "test/+/segment"     { capabilities = ["read"] }
path "+/segment/at/front" { capabilities = ["read"] }
path "test/segment/at/end/+"     { capabilities = ["read"] }
path "test/segment/at/end/v2/+/" { capabilities = ["read"] }
path "test/+/wildcard/+/*"       { capabilities = ["read"] }
path "test/+/wildcardglob/+/end*" { capabilities = ["read"] }
path "1/2/*"   { capabilities = ["create"] }
path "1/2/+"   { capabilities = ["read"] }
path "1/2/+/+" { capabilities = ["update"] }
"""

OPS = """
path "dev/hide/*"         { policy = "deny" }
path "stage/aws/policy/*" { policy = "deny"  capabilities = ["read", "update", "sudo"] }
path "prod/*"             { policy = "write" }
path "sys/seal"           { policy = "sudo" }
path "foo/bar"            { capabilities = ["deny"] }
path "baz/quux"           { capabilities = ["deny"] }
"""


def acl_of(*texts: str) -> ACL:
    return ACL.compile([parse_policy(f"p{i}", t) for i, t in enumerate(texts)])


SINGLE = [
    (R, "root", False, False),
    (H, "root", True, False),
    (R, "dev/foo", True, True),
    (U, "dev/foo", True, True),
    (D, "stage/foo", True, False),
    (L, "stage/aws/foo", True, True),
    (U, "stage/aws/foo", True, True),
    (U, "stage/aws/policy/foo", True, True),
    (D, "prod/foo", False, False),
    (U, "prod/foo", False, False),
    (R, "prod/foo", True, False),
    (L, "prod/foo", True, False),
    (R, "prod/aws/foo", False, False),
    (R, "foo/bar", True, True),
    (L, "foo/bar", False, True),
    (U, "foo/bar", False, True),
    (C, "foo/bar", True, True),
    (R, "baz/quux", True, False),
    (C, "baz/quux", True, False),
    (P, "baz/quux", True, False),
    (L, "baz/quux", False, False),
    (U, "baz/quux", False, False),
    (R, "test/foo/bar/segment", False, False),
    (R, "test/foo/segment", True, False),
    (R, "test/bar/segment", True, False),
    (R, "test/segment/at/frond", False, False),
    (R, "test/segment/at/front", True, False),
    (R, "test/segment/at/end/foo", True, False),
    (R, "test/segment/at/end/foo/", False, False),
    (R, "test/segment/at/end/v2/foo/", True, False),
    (R, "test/segment/wildcard/at/foo/", True, False),
    (R, "test/segment/wildcard/at/end", True, False),
    (R, "test/segment/wildcard/at/end/", True, False),
    (R, "1/2/3/4", False, False),
    (R, "1/2/3", True, False),
    (U, "1/2/3", False, False),
    (U, "1/2/3/4", True, False),
    (C, "1/2/3/4/5", True, False),
]


@pytest.mark.parametrize(("op", "path", "allowed", "sudo"), SINGLE)
def test_single_policy(op: Op, path: str, allowed: bool, sudo: bool) -> None:
    decision = acl_of(TEAM).check(path, op)
    assert (decision.allowed, decision.root_privs) == (allowed, sudo), decision.reason


LAYERED = [
    (R, "root", False, False),
    (H, "root", True, False),
    (R, "dev/foo", True, True),
    (U, "dev/foo", True, True),
    (R, "dev/hide/foo", False, False),
    (U, "dev/hide/foo", False, False),
    (D, "stage/foo", True, False),
    (L, "stage/aws/foo", True, True),
    (U, "stage/aws/foo", True, True),
    (U, "stage/aws/policy/foo", False, False),
    (D, "prod/foo", True, False),
    (U, "prod/foo", True, False),
    (R, "prod/foo", True, False),
    (L, "prod/foo", True, False),
    (R, "prod/aws/foo", False, False),
    (R, "sys/status", False, False),
    (U, "sys/seal", True, True),
    (R, "foo/bar", False, False),
    (L, "foo/bar", False, False),
    (U, "foo/bar", False, False),
    (C, "foo/bar", False, False),
    (R, "baz/quux", False, False),
    (P, "baz/quux", False, False),
]


@pytest.mark.parametrize(("op", "path", "allowed", "sudo"), LAYERED)
def test_layered_policies_union_with_deny_winning(op: Op, path: str, allowed: bool, sudo: bool) -> None:
    decision = acl_of(TEAM, OPS).check(path, op)
    assert (decision.allowed, decision.root_privs) == (allowed, sudo), decision.reason


def test_layering_is_order_independent() -> None:
    a, b = acl_of(TEAM, OPS), acl_of(OPS, TEAM)
    for op, path, *_ in LAYERED:
        assert a.check(path, op).allowed == b.check(path, op).allowed


def test_capabilities_as_sys_capabilities_returns_them() -> None:
    acl = acl_of(TEAM)
    assert acl.capabilities("dev") == ["deny"]
    assert acl.capabilities("dev/") == ["create", "delete", "list", "read", "sudo", "update"]
    assert acl.capabilities("stage/aws/test") == ["list", "read", "sudo", "update"]
    assert acl.capabilities("prod/aws/x") == ["deny"]
    assert acl.capabilities("/baz/quux") == ["create", "patch", "read"]
    assert acl_of('path "x" {}').capabilities("x") == ["deny"]
    assert ACL.compile([root_policy()]).capabilities("anything") == ["root"]


PERMS = """
path "dev/*"        { policy = "write"  allowed_parameters = { "zip" = [] } }
path "foo/bar"      { policy = "write"  denied_parameters = { "zap" = [] }
                      min_wrapping_ttl = 300  max_wrapping_ttl = 400 }
path "foo/baz"      { policy = "write"  allowed_parameters = { "hello" = [] }  denied_parameters = { "zap" = [] }
                      min_wrapping_ttl = 300 }
path "working/phone" { policy = "write"  max_wrapping_ttl = 400 }
path "broken/phone" { policy = "write"  allowed_parameters = { "steve" = [] }  denied_parameters = { "steve" = [] } }
path "hello/world"  { policy = "write"  allowed_parameters = { "*" = [] }  denied_parameters = { "*" = [] } }
path "tree/fort"    { policy = "write"  allowed_parameters = { "*" = [] }  denied_parameters = { "foo" = [] } }
path "fruit/apple"  { policy = "write"  allowed_parameters = { "pear" = [] }  denied_parameters = { "*" = [] } }
path "cold/weather" { policy = "write"  allowed_parameters = {}  denied_parameters = {} }
path "var/aws"      { policy = "write"  allowed_parameters = { "*" = [] }
                      denied_parameters = { "soft" = []  "warm" = []  "kitty" = [] } }
path "var/req"      { policy = "write"  required_parameters = ["foo"] }
"""

PARAM_CASES = [
    ("dev/ops", None, ["zip"], True),
    ("foo/bar", None, ["zap"], False),
    ("foo/bar", None, ["zip"], False),
    ("foo/bar", 50, ["zip"], False),
    ("foo/bar", 450, ["zip"], False),
    ("foo/bar", 350, ["zip"], True),
    ("foo/baz", None, ["hello"], False),
    ("foo/baz", 50, ["hello"], False),
    ("foo/baz", 450, ["hello"], True),
    ("foo/baz", None, ["zap"], False),
    ("broken/phone", None, ["steve"], False),
    ("working/phone", None, [""], False),
    ("working/phone", 450, [""], False),
    ("working/phone", 350, [""], True),
    ("hello/world", None, ["one"], False),
    ("tree/fort", None, ["one"], True),
    ("tree/fort", None, ["foo"], False),
    ("fruit/apple", None, ["pear"], False),
    ("fruit/apple", None, ["one"], False),
    ("cold/weather", None, ["four"], True),
    ("var/aws", None, ["cold", "warm", "kitty"], False),
    ("var/req", None, ["cold", "warm", "kitty"], False),
    ("var/req", None, ["cold", "warm", "kitty", "foo"], True),
]


@pytest.mark.parametrize(("path", "wrap", "names", "allowed"), PARAM_CASES)
@pytest.mark.parametrize("op", [U, C])
def test_parameter_names_and_wrapping(path: str, wrap: float | None, names: list[str], allowed: bool, op: Op) -> None:
    decision = acl_of(PERMS).check(path, op, dict.fromkeys(names, ""), wrap_ttl=wrap)
    assert decision.allowed is allowed, decision.reason


VALUES = """
path "dev/*"     { policy = "write"  allowed_parameters = { "allow" = ["good"] } }
path "foo/bar"   { policy = "write"  denied_parameters = { "deny" = ["bad*"] } }
path "foo/baz"   { policy = "write"  allowed_parameters = { "ALLOW" = ["good"] }
                   denied_parameters = { "dEny" = ["bad"] } }
path "fizz/buzz" {
  policy = "write"
  allowed_parameters = { "allow_multi" = ["good", "good1", "good2", "*good3"]  "allow" = ["good"] }
  denied_parameters = { "deny_multi" = ["bad", "bad1", "bad2"] }
}
path "test/types" { policy = "write"
                    allowed_parameters = { "map" = [{"good" = "one"}]  "int" = [1, 2]  "bool" = [false] } }
path "test/star"  { policy = "write"  allowed_parameters = { "*" = []  "foo" = []  "bar" = [false] } }
"""

VALUE_CASES: list[tuple[str, dict[str, object], bool]] = [
    ("dev/ops", {"allow": "good"}, True),
    ("dev/ops", {"allow": "bad"}, False),
    ("foo/bar", {"deny": "bad"}, False),
    ("foo/bar", {"deny": "bad glob"}, False),
    ("foo/bar", {"deny": "good"}, True),
    ("foo/bar", {"allow": "good"}, True),
    ("foo/bar", {"deny": None}, True),
    ("foo/bar", {"allow": None}, True),
    ("foo/baz", {"aLLow": "good"}, True),
    ("foo/baz", {"deny": "bad"}, False),
    ("foo/baz", {"deny": "good"}, False),
    ("foo/baz", {"allow": "good", "deny": "bad"}, False),
    ("foo/baz", {"deNy": "bad", "allow": "good"}, False),
    ("foo/baz", {"aLLow": "bad"}, False),
    ("foo/baz", {"Neither": "bad"}, False),
    ("foo/baz", {"allow": None}, False),
    ("fizz/buzz", {"allow_multi": "good"}, True),
    ("fizz/buzz", {"allow_multi": "good1"}, True),
    ("fizz/buzz", {"allow_multi": "good2"}, True),
    ("fizz/buzz", {"allow_multi": "glob good2"}, False),
    ("fizz/buzz", {"allow_multi": "glob good3"}, True),
    ("fizz/buzz", {"allow_multi": "bad"}, False),
    ("fizz/buzz", {"allow_multi": "good1", "allow": "good"}, True),
    ("fizz/buzz", {"deny_multi": "bad2"}, False),
    ("fizz/buzz", {"deny_multi": "good", "allow_multi": "good2"}, False),
    ("test/types", {"map": {"good": "one"}}, True),
    ("test/types", {"map": {"bad": "one"}}, False),
    ("test/types", {"int": 1}, True),
    ("test/types", {"int": 3}, False),
    ("test/types", {"int": True}, False),  # a bool is not the number 1
    ("test/types", {"bool": False}, True),
    ("test/types", {"bool": True}, False),
    ("test/star", {"anything": True}, True),
    ("test/star", {"foo": True}, True),
    ("test/star", {"bar": False}, True),
    ("test/star", {"bar": True}, False),
]


@pytest.mark.parametrize(("path", "params", "allowed"), VALUE_CASES)
@pytest.mark.parametrize("op", [U, C])  # the legacy "write" shorthand has no patch
def test_parameter_values(path: str, params: dict[str, object], allowed: bool, op: Op) -> None:
    decision = acl_of(VALUES).check(path, op, params)
    assert decision.allowed is allowed, decision.reason


def test_parameter_checks_skip_delete_and_list_but_cover_read() -> None:
    acl = acl_of('path "x" { capabilities = ["read", "delete", "list"]  allowed_parameters = { "a" = [] } }')
    assert acl.check("x", D, {"b": 1}).allowed
    assert acl.check("x", L, {"b": 1}).allowed
    assert not acl.check("x", R, {"b": 1}).allowed  # OpenBao checks read's query parameters too
    assert acl.check("x", R, {"a": 1}).allowed


def test_denial_reasons_never_contain_values() -> None:
    acl = acl_of(VALUES)
    secret = "hunter2-super-secret"
    for path, params in [("dev/ops", {"allow": secret}), ("foo/bar", {"deny": "bad" + secret})]:
        decision = acl.check(path, U, params)
        assert not decision.allowed
        assert secret not in decision.reason


def test_merging_rules_of_one_pattern() -> None:
    text = """
    path "foo/bar" { policy = "write"  denied_parameters = { "baz" = [] }  required_parameters = ["baz"] }
    path "foo/bar" { policy = "write"  denied_parameters = { "zip" = [] } }
    path "hello/universe" { policy = "write"  allowed_parameters = { "foo" = [] }  required_parameters = ["foo"]
                            max_wrapping_ttl = 300  min_wrapping_ttl = 100 }
    path "hello/universe" { policy = "write"  allowed_parameters = { "bar" = [] }  required_parameters = ["bar"]
                            max_wrapping_ttl = 200  min_wrapping_ttl = 50 }
    path "allow/all"  { policy = "write"  allowed_parameters = { "test" = []  "test1" = ["foo"] } }
    path "allow/all"  { policy = "write"  allowed_parameters = { "*" = [] } }
    path "value/merge" { policy = "write"  allowed_parameters = { "test" = [1, 2] } }
    path "value/merge" { policy = "write"  allowed_parameters = { "test" = [3, 4] } }
    path "value/empty" { policy = "write"  denied_parameters = { "empty" = [1] } }
    path "value/empty" { policy = "write"  denied_parameters = { "empty" = [] } }
    """
    acl = acl_of(text)
    # required parameters are unioned; either one missing denies
    assert not acl.check("foo/bar", U, {"x": 1}).allowed
    assert not acl.check("foo/bar", U, {"baz": 1}).allowed  # baz is also denied
    assert acl.check("hello/universe", U, {"foo": 1, "bar": 2}, wrap_ttl=60).allowed
    assert not acl.check("hello/universe", U, {"foo": 1, "bar": 2}, wrap_ttl=250).allowed  # max is now 200
    assert not acl.check("hello/universe", U, {"foo": 1}, wrap_ttl=60).allowed
    assert acl.check("allow/all", U, {"anything": 1, "test1": "foo"}).allowed
    assert not acl.check("allow/all", U, {"test1": "bar"}).allowed
    assert acl.check("value/merge", U, {"test": 3}).allowed and acl.check("value/merge", U, {"test": 2}).allowed
    assert not acl.check("value/empty", U, {"empty": 99}).allowed  # [] (any value) wins


GRANTING = """
path "kv/foo"         { capabilities = ["update", "read"] }
path "kv/path/*"      { capabilities = ["read"] }
path "kv/path/longer" { capabilities = ["update", "read"] }
path "kv/path/longer2" { capabilities = ["update"] }
path "kv/deny"        { capabilities = ["deny"] }
"""
GRANTING_MERGED = """
path "kv/foo"          { capabilities = ["update", "read"] }
path "kv/bar"          { capabilities = ["update", "read"] }
path "kv/path/*"       { capabilities = ["read"] }
path "kv/path/longer"  { capabilities = ["read"] }
path "kv/path/longer3" { capabilities = ["read"] }
path "kv/deny"         { capabilities = ["update"] }
"""


@pytest.mark.parametrize(
    ("path", "op", "both", "expected", "allowed"),
    [
        ("kv/foo", R, False, ("granting",), True),
        ("kv/foo", U, False, ("granting",), True),
        ("kv/bad", R, False, (), False),
        ("kv/deny", R, False, (), False),
        ("kv/path/foo", R, False, ("granting",), True),
        ("kv/path/longer", R, False, ("granting",), True),
        ("kv/foo", R, True, ("granting", "merged"), True),
        ("kv/path/longer3", R, True, ("merged",), True),
        ("kv/bar", R, True, ("merged",), True),
        ("kv/deny", R, True, (), False),
        ("kv/path/longer", U, True, ("granting",), True),
        ("kv/path/foo", R, True, ("granting", "merged"), True),
    ],
)
def test_granting_policies(path: str, op: Op, both: bool, expected: tuple[str, ...], allowed: bool) -> None:
    policies = [parse_policy("granting", GRANTING)]
    if both:
        policies.append(parse_policy("merged", GRANTING_MERGED))
    decision = ACL.compile(policies).check(path, op)
    assert (decision.allowed, decision.granting_policies) == (allowed, expected)


def test_root_policy() -> None:
    acl = ACL.compile([root_policy()])
    decision = acl.check("sys/mount/foo", U, is_root_path=True)
    assert decision == Decision(True, True, frozenset({"root"}), ("root",), decision.reason, is_root=True)
    with pytest.raises(InvalidRequest, match="other policies present along with root"):
        ACL.compile([root_policy(), parse_policy("x", "")])


def test_help_is_always_allowed_even_on_root_paths() -> None:
    acl = acl_of("")
    assert acl.check("sys/seal", H, is_root_path=True).allowed
    assert not acl.check("sys/seal", U).allowed


def test_sudo_is_required_on_root_protected_paths() -> None:
    acl = acl_of('path "sys/seal" { capabilities = ["update"] }\npath "sys/raw/*" { capabilities = ["read", "sudo"] }')
    assert acl.check("sys/seal", U).allowed
    denied = acl.check("sys/seal", U, is_root_path=True)
    assert not denied.allowed and "sudo" in denied.reason
    assert acl.check("sys/raw/x", R, is_root_path=True).allowed


def test_renew_revoke_rollback_need_update_and_lookahead_is_never_granted() -> None:
    acl = acl_of('path "x" { capabilities = ["update"] }\npath "y" { capabilities = ["read"] }')
    for op in (Op.RENEW, Op.REVOKE, Op.ROLLBACK):
        assert acl.check("x", op).allowed
        assert not acl.check("y", op).allowed
    assert not acl.check("x", Op.ALIAS_LOOKAHEAD).allowed


def test_list_with_trailing_slash() -> None:
    acl = acl_of(
        'path "secret/foo" { capabilities = ["list"] }\n'
        'path "+/sys/policies/acl" { capabilities = ["list"] }\n'
        'path "+/sys/policies/acl/" { capabilities = ["list"] }\n'
        'path "kv/+/+" { capabilities = ["list"] }\n'
        'path "kv/*" { capabilities = ["read"] }'
    )
    assert acl.check("secret/foo/", L).allowed  # an exact rule also covers LIST on "<path>/"
    assert not acl.check("secret/foo/", R).allowed
    assert acl.capabilities("secret/foo/") == ["list"]
    # globs see the trailing slash as an empty last segment (OpenBao 2.7 behaviour, not VAULT-3825's)
    assert acl.check("ns1/sys/policies/acl/", L).rule == "+/sys/policies/acl/"
    assert acl.check("kv/x/", L).allowed
    assert acl.capabilities("kv/x") == ["read"]


def test_request_paths_lose_leading_slashes() -> None:
    assert acl_of('path "a/b" { capabilities = ["read"] }').check("//a/b", R).allowed


def test_expired_rules_are_skipped_and_bound_validity() -> None:
    soon = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    text = (
        'path "a" { capabilities = ["read"]  expiration = "2030-01-01T00:00:00Z" }\npath "b" {capabilities = ["read"]}'
    )
    policy = parse_policy("p", text, now=soon - dt.timedelta(days=1))
    before = ACL.compile([policy], now=soon - dt.timedelta(seconds=1))
    assert before.check("a", R).allowed and before.valid_until == soon
    after = ACL.compile([policy], now=soon)
    assert not after.check("a", R).allowed and after.check("b", R).allowed and after.valid_until is None


def test_templated_rules_are_inactive_without_identity() -> None:
    acl = acl_of('path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }')
    assert not acl.check("identity/entity/id/{{identity.entity.id}}", R).allowed
    assert len(acl) == 0


def test_explain_names_policy_and_rule() -> None:
    acl = ACL.compile([parse_policy("team", TEAM), parse_policy("ops", OPS)])
    exp = acl.explain("stage/aws/policy/foo", U)
    assert not exp.decision.allowed
    assert exp.decision.rule == "stage/aws/policy/*"
    assert "explicitly denied by policy ops" in exp.decision.reason
    first, *rest = exp.rules
    assert first.decisive and first.pattern == "stage/aws/policy/*"
    assert {p["policy"] for p in first.policies} == {"team", "ops"}
    assert [r.pattern for r in rest] == ["stage/aws/*", "stage/*"]  # shadowed, best first
    data = exp.to_dict()
    assert data["allowed"] is False and data["matching_rules"][0]["capabilities"] == ["deny"]

    granted = acl.explain("prod/foo", U).to_dict()
    assert granted["allowed"] is True and granted["granting_policies"] == ["ops"]
    assert granted["rule"] == "prod/*"

    json.dumps(data)  # JSON-ready for the CLI and the UI

    nothing = acl.explain("nowhere", R)
    assert nothing.rules == () and nothing.decision.reason == "no policy grants access to this path"


def test_required_parameter_names_are_lowercased_like_openbao() -> None:
    """OpenBao looks up `strings.ToLower(name)` in the request data: "Owner" requires the key "owner"."""
    acl = acl_of('path "x" { capabilities = ["update"]  required_parameters = ["Owner"] }')
    assert acl.check("x", U, {"owner": "me"}).allowed
    assert not acl.check("x", U, {"Owner": "me"}).allowed


def test_string_operations_work_like_the_enum() -> None:
    acl = acl_of('path "a/" { capabilities = ["list"] }')
    assert acl.check("a//", "list").allowed  # type: ignore[arg-type]  # StrEnum compares equal to its value
