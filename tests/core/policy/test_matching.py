"""Path matching and the priority of overlapping rules, from the Vault "Policies" page and OpenBao's
acl tests. In each priority case the `update` rule must win over the `read` rule."""

from __future__ import annotations

import pytest

from strongroom.core.policy import ACL, parse_policy
from strongroom.core.policy.matching import SegmentPattern, prefix_priority
from strongroom.sdk.operations import Operation as Op


def acl_of(text: str) -> ACL:
    return ACL.compile([parse_policy("p", text)])


# (lower-priority pattern, higher-priority pattern, a path both match)
PRIORITY = [
    # the first wildcard comes later -> higher; `*` alone has its glob at 0 but no `+` at all
    ("+/*", "*", "foo/bar/bar/baz"),
    ("+/*", "foo/+/*", "foo/bar/bar/baz"),
    ("foo/+/(ar/baz", "foo/(ar/+/baz", "foo/(ar/(ar/baz"),  # "(" sorts before "+": position decides
    # not ending in `*` beats ending in `*`
    ("foo/bar/+/baz*", "foo/bar/+/baz", "foo/bar/bar/baz"),
    ("secret/+/*", "secret/+/x", "secret/a/x"),
    # fewer `+` segments
    ("foo/+/+/*", "foo/+/bar/baz", "foo/bar/bar/baz"),
    ("foo/+/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
    ("secret/+/+/foo/*", "secret/*", "secret/a/b/foo/c"),  # the docs' own example
    # longer beats shorter
    ("foo/bar/+/b*", "foo/bar/+/ba*", "foo/bar/bar/baz"),
    ("secret/*", "secret/foo/*", "secret/foo/bar"),
    ("secret/f*", "secret/fo*", "secret/foo"),
    # a prefix rule against segment rules
    ("secret/+/bar", "secret/foo*", "secret/foo/bar"),  # first glob at 10 beats first `+` at 7
    ("secret/*", "secret/+/bar", "secret/foo/bar"),  # same position; not ending in `*` wins
    # exact beats every glob
    ("secret/*", "secret/foo", "secret/foo"),
    ("secret/+", "secret/foo", "secret/foo"),
    ("*", "a", "a"),
]


@pytest.mark.parametrize(("low", "high", "path"), PRIORITY)
def test_priority(low: str, high: str, path: str) -> None:
    text = f'path "{low}" {{ capabilities = ["read"] }}\npath "{high}" {{ capabilities = ["update"] }}\n'
    for ordering in (text, "\n".join(reversed(text.splitlines()))):
        acl = acl_of(ordering)
        assert acl.check(path, Op.UPDATE).allowed, (low, high, acl.check(path, Op.UPDATE).reason)
        assert not acl.check(path, Op.READ).allowed
        assert acl.check(path, Op.UPDATE).rule == high


# (pattern, matches, does not match) — the Vault docs' examples
MATCHES = [
    ("secret/foo", ["secret/foo"], ["secret/food", "secret/foo/bar", "secret/fo"]),
    ("secret/bar/*", ["secret/bar/zip", "secret/bar/zip/zap", "secret/bar/"], ["secret/bars/zip", "secret/bar"]),
    ("secret/zip-*", ["secret/zip-zap", "secret/zip-zap/zong", "secret/zip-"], ["secret/zip/zap"]),
    (
        "secret/+/teamb",
        ["secret/foo/teamb", "secret/bar/teamb", "secret//teamb"],
        ["secret/foo/bar/teamb", "secret/teamb"],
    ),
    ("secret/+/+/teamb", ["secret/foo/bar/teamb"], ["secret/foo/teamb"]),
    (
        "secret/+/teamb/*",
        ["secret/foo/teamb/x", "secret/foo/teamb/x/y", "secret/foo/teamb/"],
        ["secret/foo/teamb", "secret/a/b/teamb/x"],
    ),
    ("+", ["anything", ""], ["a/b"]),
    ("+/*", ["a/b", "a/"], ["a"]),
    ("*", ["", "a", "a/b/c"], []),
    ("a/+/c*", ["a/b/c", "a/b/cd/e"], ["a/b/d", "a/c"]),
]


@pytest.mark.parametrize(("pattern", "yes", "no"), MATCHES)
def test_matching(pattern: str, yes: list[str], no: list[str]) -> None:
    acl = acl_of(f'path "{pattern}" {{ capabilities = ["read"] }}')
    for path in yes:
        assert acl.check(path, Op.READ).allowed, (pattern, path)
    for path in no:
        assert not acl.check(path, Op.READ).allowed, (pattern, path)


def test_most_specific_wins_without_union() -> None:
    acl = acl_of('path "secret/*" { capabilities = ["read", "list"] }\npath "secret/foo" { capabilities = ["update"] }')
    assert not acl.check("secret/foo", Op.READ).allowed  # the exact rule alone decides
    assert acl.capabilities("secret/foo") == ["update"]


def test_priorities_are_computed_in_utf8_bytes() -> None:
    # "é" is two bytes: the `+` of the second pattern sits one byte later than the first's.
    a = SegmentPattern.compile("é/+/x")
    b = SegmentPattern.compile("e/+/x")
    assert a.priority[0] == b.priority[0] + 1
    assert prefix_priority("é")[0] == 2
