"""Parsing HCL and JSON policies, and every way a policy can be rejected."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from strongroom.core.policy import (
    Capability,
    RuleKind,
    check_policy_deletable,
    check_policy_writable,
    normalize_policy_name,
    parse_duration,
    parse_policy,
    sanitize_policy_names,
)
from strongroom.sdk.errors import InvalidRequest

HCL = """
# comment
path "secret/data/app/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "/sys/seal" {
  capabilities = ["update", "sudo"]
}

path "secret/+/team-b" {
  capabilities = ["read"]
  allowed_parameters = {
    "TTL" = []
    "role" = ["dev-*", "*-ro"]
  }
  denied_parameters = {
    "force" = [true]
  }
  required_parameters = ["role"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = 3600
}
"""


def test_hcl_policy_parses_into_rules() -> None:
    policy = parse_policy("Dev-Team ", HCL)
    assert policy.name == "dev-team"
    assert policy.raw == HCL
    kv, seal, seg = policy.rules
    assert (kv.kind, kv.key, kv.pattern) == (RuleKind.PREFIX, "secret/data/app/", "secret/data/app/*")
    assert kv.capability_names == {"create", "read", "update", "patch", "delete", "list"}
    assert (seal.kind, seal.key) == (RuleKind.EXACT, "sys/seal")  # leading slash stripped
    assert seal.capabilities == Capability.UPDATE | Capability.SUDO
    assert seg.kind is RuleKind.SEGMENT
    assert seg.allowed_parameters == {"ttl": (), "role": ("dev-*", "*-ro")}  # names lower-cased
    assert seg.denied_parameters == {"force": (True,)}
    assert seg.required_parameters == ("role",)
    assert (seg.min_wrapping_ttl, seg.max_wrapping_ttl) == (60.0, 3600.0)


def test_json_policy_matches_hcl() -> None:
    doc = {
        "path": {
            "secret/data/app/*": {"capabilities": ["create", "read", "update", "patch", "delete", "list"]},
            "/sys/seal": {"capabilities": ["update", "sudo"]},
            "secret/+/team-b": {
                "capabilities": ["read"],
                "allowed_parameters": {"TTL": [], "role": ["dev-*", "*-ro"]},
                "denied_parameters": {"force": [True]},
                "required_parameters": ["role"],
                "min_wrapping_ttl": "1m",
                "max_wrapping_ttl": 3600,
            },
        }
    }
    from_json = parse_policy("dev-team", json.dumps(doc))
    from_hcl = parse_policy("dev-team", HCL)
    assert from_json.rules == from_hcl.rules


def test_json_path_list_form_and_duplicates_are_kept() -> None:
    text = '{"path": [{"a/b": {"capabilities": ["read"]}}, {"a/b": {"capabilities": ["deny"]}}], "name": "ignored"}'
    rules = parse_policy("p", text).rules
    assert [r.capabilities for r in rules] == [Capability.READ, Capability.DENY]
    dup = '{"path": {"x": {"capabilities": ["read"]}, "x": {"capabilities": ["deny"]}}}'
    assert [r.capabilities for r in parse_policy("p", dup).rules] == [Capability.READ, Capability.DENY]


def test_repeated_hcl_blocks_are_not_merged_away() -> None:
    """pyhcl alone would keep only the last block's capabilities; a lost deny would grant access."""
    text = 'path "x" { capabilities = ["deny"] }\npath "x" { capabilities = ["read"] }\n'
    caps = [r.capabilities for r in parse_policy("p", text).rules]
    assert caps == [Capability.DENY, Capability.READ]


def test_legacy_policy_shorthand() -> None:
    text = """
    path "a" { policy = "read" }
    path "b" { policy = "write" }
    path "c" { policy = "sudo" }
    path "d" { policy = "deny" }
    path "e" { policy = "read"  capabilities = ["update", "sudo"] }
    path "f" { policy = "deny"  capabilities = ["read", "update", "sudo"] }
    """
    a, b, c, d, e, f = (r.capability_names for r in parse_policy("p", text).rules)
    assert a == {"read", "list"}
    assert b == {"create", "read", "update", "delete", "list"}
    assert c == {"create", "read", "update", "delete", "list", "sudo"}
    assert d == {"deny"}
    assert e == {"read", "list", "update", "sudo"}
    assert f == {"deny"}


@pytest.mark.parametrize(
    "text",
    [
        'path "x" { capabilities = ["read"] \n capabilities = ["list"]  policy = "deny"  policy = "write" }',
        '{"path": {"x": {"capabilities": ["read"], "capabilities": ["list"], "policy": "deny", "policy": "write"}}}',
    ],
)
def test_repeated_keys_in_a_block_fold_like_openbao(text: str) -> None:
    """Lists concatenate and the last scalar wins (checked against OpenBao 2.7)."""
    (rule,) = parse_policy("p", text).rules
    assert rule.capability_names == {"read", "list", "create", "update", "delete"}


def test_repeated_parameter_maps_merge() -> None:
    text = 'path "x" { allowed_parameters = { "a" = ["1"] }\n allowed_parameters = { "b" = [] } }'
    (rule,) = parse_policy("p", text).rules
    assert rule.allowed_parameters == {"a": ("1",), "b": ()}


def test_anything_after_deny_is_ignored_like_openbao() -> None:
    (rule,) = parse_policy("p", 'path "x" { capabilities = ["deny", "bogus"] }').rules
    assert rule.capabilities == Capability.DENY


def test_deny_drops_everything_else_on_the_path() -> None:
    text = 'path "x" { capabilities = ["read", "deny"]  allowed_parameters = { "a" = [] } }'
    (rule,) = parse_policy("p", text).rules
    assert rule.capabilities == Capability.DENY
    assert rule.allowed_parameters is None


def test_vault_only_capabilities_are_accepted_and_ignored() -> None:
    (rule,) = parse_policy("p", 'path "x" { capabilities = ["read", "subscribe", "recover"] }').rules
    assert rule.capability_names == {"read"}
    (scan,) = parse_policy("p", 'path "x" { capabilities = ["scan"] }').rules
    assert scan.capabilities == Capability.SCAN


def test_booleans_and_objects_in_parameter_lists() -> None:
    text = 'path "t" { allowed_parameters = { "map" = [{"good" = "one"}]  "int" = [1, 2]  "bool" = [false] } }'
    (rule,) = parse_policy("p", text).rules
    assert rule.allowed_parameters == {"map": ({"good": "one"},), "int": (1, 2), "bool": (False,)}


def test_glob_and_segment_classification() -> None:
    text = """
    path "*" { capabilities = ["read"] }
    path "+" { capabilities = ["read"] }
    path "a/+/b*" { capabilities = ["read"] }
    path "a/b+c/*" { capabilities = ["read"] }
    path "a/*/c" { capabilities = ["read"] }
    """
    kinds = [(r.kind, r.key) for r in parse_policy("p", text).rules]
    assert kinds == [
        (RuleKind.PREFIX, ""),
        (RuleKind.SEGMENT, "+"),
        (RuleKind.SEGMENT, "a/+/b*"),
        (RuleKind.PREFIX, "a/b+c/"),  # a `+` inside a segment is a literal character
        (RuleKind.EXACT, "a/*/c"),  # only a trailing `*` is a glob
    ]


def test_empty_policy_and_empty_block() -> None:
    assert parse_policy("p", "").rules == ()
    (rule,) = parse_policy("p", 'path "x" {}').rules
    assert rule.capabilities == 0


def test_templated_paths_are_flagged() -> None:
    policy = parse_policy("p", 'path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }')
    assert policy.templated and policy.rules[0].templated


def test_expiration() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    text = """
    path "old" { capabilities = ["read"]  expiration = "2029-12-31T23:59:59Z" }
    path "new" { capabilities = ["read"]  expiration = "2030-06-01T00:00:00Z" }
    """
    (rule,) = parse_policy("p", text, now=now).rules
    assert rule.key == "new"
    assert rule.expiration == dt.datetime(2030, 6, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("2d", 172800.0),
        ("250ms", 0.25),
        ("", 0.0),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["abc", "1x", "h", "1h 2m", True, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('path "x" { capabilities = ["reed"] }', 'path "x": invalid capability "reed"'),
        ('path "x" { capabilities = ["read"]  policy = "admin" }', 'invalid policy "admin"'),
        ('path "x" { capabilities = ["read"]  bogus = 1 }', 'invalid key "bogus"'),
        ('path "x" { mfa_methods = ["m"] }', '"mfa_methods" is not supported'),
        ('path "x" { pagination_limit = 5 }', '"pagination_limit" is not supported'),
        ('path "x/+*" { capabilities = ["read"] }', "'+*' is forbidden"),
        ('path "x" { capabilities = [1] }', "capabilities must be a list of strings"),
        ('path "x" { capabilities = "read" }', "capabilities must be a list of strings"),
        ('path "x" { required_parameters = "a" }', "required_parameters must be a list of strings"),
        ('path "x" { allowed_parameters = { "a" = "b" } }', 'values of "a" must be a list'),
        ('path "x" { allowed_parameters = ["a"] }', "allowed_parameters must be a map"),
        ('path "x" { min_wrapping_ttl = "soon" }', "error parsing min_wrapping_ttl"),
        ('path "x" { min_wrapping_ttl = 100  max_wrapping_ttl = 50 }', "max_wrapping_ttl cannot be less"),
        ('path "x" { expiration = "tomorrow" }', "invalid expiration time"),
        ('path "x" = 3', "unexpected EQUAL"),
        ("foo = 1", 'invalid key "foo"'),
        ('path "a" "b" { capabilities = ["read"] }', 'invalid key "b"'),
        ('path "{{identity.entity.id" { capabilities = ["read"] }', "templating"),
        ('{"path": 3}', '"path" must be a block'),
    ],
)
def test_rejections_are_clear(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_policy("p", text)
    assert message in str(info.value)
    assert str(info.value).startswith("failed to parse policy")


def test_hcl_syntax_error_has_real_line_and_column() -> None:
    text = 'path "x" {\n  capabilities = ["read"]\n  other = \n}\n'
    with pytest.raises(InvalidRequest) as info:
        parse_policy("p", text)
    assert str(info.value) == "failed to parse policy: line 4, column 1: unexpected RIGHTBRACE"


def test_hcl_lexer_error_and_eof() -> None:
    with pytest.raises(InvalidRequest, match=r"line 1, column 38: Illegal character '\$'"):
        parse_policy("p", 'path "a" { capabilities = ["read"] } $')
    with pytest.raises(InvalidRequest, match="Unexpected end of file"):
        parse_policy("p", 'path "x" {\n capabilities = ["read"]\n')


def test_json_syntax_error_has_line_and_column() -> None:
    with pytest.raises(InvalidRequest, match=r"line 2, column 1: Expecting"):
        parse_policy("p", '{"path": \n}')
    with pytest.raises(InvalidRequest):
        parse_policy("p", "[1, 2]")


def test_bad_input_leaves_nothing_behind() -> None:
    """A failed parse raises before anything is built; the same parser keeps working afterwards."""
    with pytest.raises(InvalidRequest):
        parse_policy("p", 'path "x" { capabilities = [ }')
    assert parse_policy("p", 'path "x" { capabilities = ["read"] }').rules[0].key == "x"


def test_names() -> None:
    assert normalize_policy_name("  Admin ") == "admin"
    with pytest.raises(InvalidRequest, match="policy name missing"):
        normalize_policy_name("  ")
    with pytest.raises(InvalidRequest, match='cannot update "root" policy'):
        check_policy_writable("ROOT")
    with pytest.raises(InvalidRequest, match='cannot update "response-wrapping" policy'):
        check_policy_writable("response-wrapping")
    assert check_policy_writable("Default") == "default"
    with pytest.raises(InvalidRequest, match="cannot delete default policy"):
        check_policy_deletable("default")
    with pytest.raises(InvalidRequest, match='cannot delete "root" policy'):
        check_policy_deletable("root")
    assert check_policy_deletable("Dev") == "dev"


def test_sanitize_policy_names() -> None:
    assert sanitize_policy_names(["B", " a ", "", "b"]) == ["a", "b", "default"]
    assert sanitize_policy_names(["a"], add_default=False) == ["a"]
    assert sanitize_policy_names(["a", "Root", "default"]) == ["root"]


def test_lexer_error_on_a_later_line() -> None:
    with pytest.raises(InvalidRequest, match=r"line 3, column 3: Illegal character '\$'"):
        parse_policy("p", 'path "a" {\n  capabilities = ["read"]\n  $\n}')
