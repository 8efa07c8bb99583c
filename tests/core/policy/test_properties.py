"""Hypothesis properties of compiled ACLs, including agreement with a brute-force reference that applies
the documented priority rules pairwise over every rule."""

from __future__ import annotations

import functools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.core.policy import ACL, Policy, parse_policy
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation as Op

SEGMENTS = st.sampled_from(["a", "b", "ab", "c"])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join)
# request paths may also hold empty segments and a trailing slash
REQUEST_PATHS = st.tuples(
    st.lists(st.sampled_from(["a", "b", "ab", "c", ""]), min_size=1, max_size=4).map("/".join), st.booleans()
).map(lambda t: t[0] + "/" if t[1] else t[0])
CAPS = st.lists(st.sampled_from(["create", "read", "update", "delete", "list", "patch", "sudo"]), max_size=4)
OPS = [Op.CREATE, Op.READ, Op.UPDATE, Op.DELETE, Op.LIST, Op.PATCH]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(SEGMENTS, min_size=1, max_size=4))
    kind = draw(st.sampled_from(["exact", "prefix", "segment"]))
    if kind == "exact":
        return "/".join(parts)
    if kind == "prefix":
        text = "/".join(parts)
        return text[: draw(st.integers(0, len(text)))] + "*"
    parts = [("+" if draw(st.booleans()) else p) for p in parts]
    if "+" not in parts:
        parts[draw(st.integers(0, len(parts) - 1))] = "+"
    tail = draw(st.sampled_from(["", "/*", "*"]))
    text = "/".join(parts)
    if tail == "*" and text.endswith("+"):
        tail = "/*"
    return text + tail


RULES = st.lists(st.tuples(patterns(), CAPS, st.booleans()), max_size=8)


def to_hcl(rules: list[tuple[str, list[str], bool]]) -> str:
    out = []
    for pattern, caps, deny in rules:
        names = ["deny"] if deny else caps
        out.append(f'path "{pattern}" {{ capabilities = {json.dumps(names)} }}')
    return "\n".join(out)


@functools.lru_cache(maxsize=4096)
def parsed(name: str, text: str) -> Policy:
    return parse_policy(name, text)  # pyhcl is slow; hypothesis repeats itself a lot


def compile_policies(*rule_sets: list[tuple[str, list[str], bool]]) -> ACL:
    return ACL.compile([parsed(f"p{i}", to_hcl(r)) for i, r in enumerate(rule_sets)])


# ---- a slow, obviously-correct reference: the documented rules, compared pairwise ----


def ref_matches(pattern: str, path: str) -> bool:
    parts = pattern.split("/")
    if "+" not in parts:
        return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern
    is_prefix = pattern.endswith("*")
    want = (pattern[:-1] if is_prefix else pattern).split("/")
    got = path.split("/")
    if len(got) < len(want) or (not is_prefix and len(got) != len(want)):
        return False
    for i, w in enumerate(want):
        ok = w in ("+", got[i]) or (is_prefix and i == len(want) - 1 and got[i].startswith(w))
        if not ok:
            return False
    return True


def ref_compare(p1: str, p2: str) -> int:
    """-1 when p1 has lower priority than p2 (the docs' five rules)."""

    def first_wc(p: str) -> int:
        parts = p.split("/")
        if "+" in parts:
            return len("/".join(parts[: parts.index("+")])) + (1 if parts.index("+") else 0)
        return len(p) - 1  # position of the trailing `*`

    def plus(p: str) -> int:
        return p.split("/").count("+")

    keys1 = (first_wc(p1), not p1.endswith("*"), -plus(p1), len(p1.rstrip("*")), p1.rstrip("*"))
    keys2 = (first_wc(p2), not p2.endswith("*"), -plus(p2), len(p2.rstrip("*")), p2.rstrip("*"))
    return (keys1 > keys2) - (keys1 < keys2)


def ref_capabilities(rule_sets: list[list[tuple[str, list[str], bool]]], path: str) -> list[str]:
    merged: dict[str, set[str]] = {}
    for rules in rule_sets:
        for pattern, caps, deny in rules:
            names = merged.setdefault(pattern, set())
            if "deny" in names:
                continue
            if deny:
                names.clear()
                names.add("deny")
            else:
                names.update(caps)

    def is_glob(p: str) -> bool:
        return p.endswith("*") or "+" in p.split("/")

    def best_glob(target: str) -> str | None:
        globs = [p for p in merged if is_glob(p) and ref_matches(p, target)]
        return max(globs, key=functools.cmp_to_key(ref_compare)) if globs else None

    # sys/capabilities uses LIST semantics: exact, exact without the trailing slash, glob, glob without it
    path = path.lstrip("/")  # request paths lose their leading slashes
    trimmed = path[:-1] if path.endswith("/") else None
    if path in merged and not is_glob(path):
        best: str | None = path
    elif trimmed is not None and trimmed in merged and not is_glob(trimmed):
        best = trimmed
    else:
        best = best_glob(path)
        if best is None and trimmed is not None:
            best = best_glob(trimmed)
    if best is None:
        return ["deny"]
    names = merged[best]
    return ["deny"] if "deny" in names or not names else sorted(names)


@settings(max_examples=200, deadline=None)
@given(RULES, RULES, REQUEST_PATHS)
def test_compiled_acl_agrees_with_reference(r1: list, r2: list, path: str) -> None:  # type: ignore[type-arg]
    acl = compile_policies(r1, r2)
    assert acl.capabilities(path) == ref_capabilities([r1, r2], path)


@settings(max_examples=100, deadline=None)
@given(RULES, PATHS, CAPS)
def test_exact_rule_beats_every_glob(rules: list, path: str, caps: list[str]) -> None:  # type: ignore[type-arg]
    globs = [r for r in rules if r[0] != path]
    acl = compile_policies([*globs, (path, caps, False)])
    assert acl.capabilities(path) == (sorted(set(caps)) or ["deny"])


@settings(max_examples=200, deadline=None)
@given(RULES, st.lists(patterns(), min_size=1, max_size=3), PATHS)
def test_adding_a_deny_never_grants_more(rules: list, denies: list[str], path: str) -> None:  # type: ignore[type-arg]
    before = compile_policies(rules)
    after = compile_policies(rules, [(p, [], True) for p in denies])
    for op in OPS:
        if after.check(path, op).allowed:
            assert before.check(path, op).allowed
    assert set(after.capabilities(path)) - {"deny"} <= set(before.capabilities(path))


@settings(max_examples=200, deadline=None)
@given(RULES, RULES, PATHS)
def test_capabilities_consistent_with_check(r1: list, r2: list, path: str) -> None:  # type: ignore[type-arg]
    acl = compile_policies(r1, r2)
    caps = acl.capabilities(path)
    for op in OPS:
        decision = acl.check(path, op)
        assert decision.allowed == (op.value in caps), (op, caps, decision.reason)
        if decision.allowed:
            assert decision.root_privs == ("sudo" in caps)
            assert decision.granting_policies
    listing = path + "/"  # LIST falls back to the path without its trailing slash, as capabilities() does
    assert acl.check(listing, Op.LIST).allowed == ("list" in acl.capabilities(listing))


@settings(max_examples=150, deadline=None)
@given(RULES, RULES, PATHS)
def test_policy_order_does_not_matter(r1: list, r2: list, path: str) -> None:  # type: ignore[type-arg]
    a = ACL.compile([parsed("x", to_hcl(r1)), parsed("y", to_hcl(r2))])
    b = ACL.compile([parsed("y", to_hcl(r2)), parsed("x", to_hcl(r1))])
    assert a.capabilities(path) == b.capabilities(path)
    for op in OPS:
        da, db = a.check(path, op), b.check(path, op)
        assert (da.allowed, da.rule, set(da.granting_policies)) == (db.allowed, db.rule, set(db.granting_policies))


@settings(max_examples=100, deadline=None)
@given(RULES)
def test_hcl_and_json_parse_alike(rules: list) -> None:  # type: ignore[type-arg]
    doc = {"path": [{p: {"capabilities": ["deny"] if d else c}} for p, c, d in rules]}
    assert parse_policy("p", to_hcl(rules)).rules == parse_policy("p", json.dumps(doc)).rules


JSON_KEYS = st.sampled_from(
    [
        "capabilities",
        "policy",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
        "expiration",
        "comment",
        "a",
        "*",
        "read",
        "deny",
    ]
)
HCL_BITS = st.sampled_from(
    [
        "path",
        '"x"',
        '"a/+/b*"',
        "{",
        "}",
        "[",
        "]",
        "=",
        ",",
        '"read"',
        '"deny"',
        "capabilities",
        "policy",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "1",
        "true",
        '"1h"',
        "\n",
        "#c\n",
        "name",
        "{{",
        "}}",
        "$",
        "-",
        "1e999",
        "null",
        '"\\u0000"',
        ":",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(HCL_BITS, max_size=25).map(" ".join), st.text(max_size=80)))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    """Whatever comes in, the only failure is InvalidRequest (a 400), never a crash."""
    try:
        policy = parse_policy("fuzz", text)
    except InvalidRequest:
        return
    ACL.compile([policy]).check("x", Op.READ)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=3),
        max_leaves=12,
    )
)
def test_any_json_body_parses_or_fails_cleanly(body: object) -> None:
    text = json.dumps({"path": {"x": body}})
    try:
        policy = parse_policy("fuzz", text)
    except InvalidRequest:
        return
    ACL.compile([policy]).check("x", Op.UPDATE, {"a": 1})
