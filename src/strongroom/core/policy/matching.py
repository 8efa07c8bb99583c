"""Which rule applies to a path: exact beats everything; otherwise the highest-priority glob wins.

Priority among non-exact matches (OpenBao `CheckAllowedFromNonExactPaths`, Vault docs "Priority matching"),
compared in order, higher wins:

1. position of the first wildcard (`+`) or glob (`*`): later is more specific;
2. not ending in `*` beats ending in `*`;
3. fewer `+` segments beats more;
4. longer pattern (without the trailing `*`) beats shorter;
5. lexically larger beats smaller (a tie-breaker that real policies never reach).

Positions and lengths are counted in UTF-8 bytes, as Go does. The priority of a pattern does not depend
on the request path, so it is computed once at compile time: segment rules are kept sorted by it and the
first one that matches is the best; prefix rules are tried longest first (a prefix match's first glob is
at its end, so the longest matching prefix is the best prefix). Each lookup is one compiled regex
alternation (see RuleIndex).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from strongroom.core.policy.model import RuleKind

V = TypeVar("V")

Priority = tuple[int, int, int, int, bytes]


def prefix_priority(prefix: str) -> Priority:
    raw = prefix.encode()
    return (len(raw), 0, 0, len(raw), raw)


@dataclass(frozen=True, slots=True)
class SegmentPattern:
    """A pattern with `+` segments, optionally ending in `*` (`secret/+/data/*`)."""

    pattern: str
    parts: tuple[str, ...]
    is_prefix: bool
    priority: Priority

    @classmethod
    def compile(cls, pattern: str) -> SegmentPattern:
        is_prefix = pattern.endswith("*")
        wc_path = pattern[:-1] if is_prefix else pattern
        parts = tuple(wc_path.split("/"))
        first, offset = len(wc_path.encode()), 0
        for part in parts:
            if part == "+":
                first = offset
                break
            offset += len(part.encode()) + 1
        raw = wc_path.encode()
        wildcards = sum(1 for p in parts if p == "+")
        return cls(pattern, parts, is_prefix, (first, 0 if is_prefix else 1, -wildcards, len(raw), raw))

    def matches(self, path_parts: list[str]) -> bool:
        parts = self.parts
        n = len(parts)
        if len(path_parts) < n or (not self.is_prefix and len(path_parts) != n):
            return False
        last = n - 1
        for i, want in enumerate(parts):
            got = path_parts[i]
            if want == "+" or want == got:
                continue
            if self.is_prefix and i == last and got.startswith(want):
                continue
            return False
        return True


@dataclass(frozen=True, slots=True)
class Match(Generic[V]):
    kind: RuleKind
    pattern: str  # as written in the policy (prefix rules get their `*` back)
    value: V
    priority: Priority | None  # None for exact matches, which outrank every glob


def _segment_regex(seg: SegmentPattern) -> str:
    """`+` is one segment (possibly empty); a prefix pattern's last part matches the start of a segment
    and then anything. Equivalent to `SegmentPattern.matches`, but evaluated in C."""
    parts = [r"[^/]*" if p == "+" else re.escape(p) for p in seg.parts]
    return "/".join(parts) + (".*" if seg.is_prefix else "")


class _Group(Generic[V]):
    """Segment rules in rank order, matched with one regex alternation; the first alternative wins."""

    __slots__ = ("_items", "_regex")

    def __init__(self, items: list[tuple[int, SegmentPattern, V]]) -> None:
        self._items = [(rank, value) for rank, _, value in items]
        self._regex = re.compile("|".join(f"({_segment_regex(seg)})" for _, seg, _ in items), re.DOTALL)

    def match(self, path: str) -> tuple[int, V] | None:
        m = self._regex.fullmatch(path)
        return None if m is None else self._items[m.lastindex - 1]  # type: ignore[operator]


class RuleIndex(Generic[V]):
    """Immutable lookup structure over exact, prefix and segment rules.

    Why regexes: in CPython a loop over rules costs ~0.5 µs per rule, one `re` call over an alternation
    costs about the same as one rule. `re` tries alternatives left to right and returns the first that
    matches, so prefixes are listed longest first and segment patterns best priority first. Every glob
    gets an integer rank from its priority so the prefix/segment tie-break compares ints.
    """

    __slots__ = ("_any_head", "_by_head", "_exact", "_prefix", "_prefix_re", "_segments", "_top_segment_rank")

    def __init__(self, exact: dict[str, V], prefix: dict[str, V], segment: dict[str, V]) -> None:
        self._exact = dict(exact)
        segs = [(SegmentPattern.compile(p), v) for p, v in segment.items()]
        priorities = sorted({prefix_priority(k) for k in prefix} | {seg.priority for seg, _ in segs})
        rank = {prio: i for i, prio in enumerate(priorities)}
        self._prefix = {key: (value, rank[prefix_priority(key)]) for key, value in prefix.items()}
        ordered = sorted(prefix, key=len, reverse=True)
        self._prefix_re = re.compile("|".join(f"(?:{re.escape(k)})" for k in ordered), re.DOTALL) if ordered else None
        ranked = sorted(((rank[seg.priority], seg, v) for seg, v in segs), key=lambda t: t[0], reverse=True)
        self._segments = tuple(ranked)
        self._top_segment_rank = ranked[0][0] if ranked else -1
        # Segment rules grouped by their first path segment (when it is a literal), so a request only runs
        # the alternation of rules that can match its first segment, plus the rules starting with `+`.
        groups: dict[str | None, list[tuple[int, SegmentPattern, V]]] = {}
        for item in ranked:
            first = item[1].parts[0]
            literal = first if first != "+" and not (item[1].is_prefix and len(item[1].parts) == 1) else None
            groups.setdefault(literal, []).append(item)
        self._by_head = {head: _Group(items) for head, items in groups.items() if head is not None}
        self._any_head = _Group(groups[None]) if None in groups else None

    def __len__(self) -> int:
        return len(self._exact) + len(self._prefix) + len(self._segments)

    def exact(self, path: str) -> V | None:
        return self._exact.get(path)

    def best_glob(self, path: str) -> V | None:
        """The value of the winning prefix or segment rule for `path`, or None."""
        best: V | None = None
        best_rank = -1
        if self._prefix_re is not None:
            m = self._prefix_re.match(path)
            if m is not None:
                best, best_rank = self._prefix[m.group()]
        if best_rank < self._top_segment_rank:  # a segment rule could still win
            group = self._by_head.get(path.partition("/")[0])
            for candidate in (group, self._any_head):
                if candidate is not None:
                    hit = candidate.match(path)
                    if hit is not None and hit[0] > best_rank:
                        best_rank, best = hit
        return best

    def all_matches(self, path: str) -> Iterator[Match[V]]:
        """Every rule matching `path`, best first (for explain(); not on the hot path)."""
        hit = self._exact.get(path)
        if hit is not None:
            yield Match(RuleKind.EXACT, path, hit, None)
        globs: list[Match[V]] = []
        for key, (value, _) in self._prefix.items():
            if path.startswith(key):
                globs.append(Match(RuleKind.PREFIX, key + "*", value, prefix_priority(key)))
        parts = path.split("/")
        globs.extend(
            Match(RuleKind.SEGMENT, seg.pattern, value, seg.priority)
            for _, seg, value in self._segments
            if seg.matches(parts)
        )
        globs.sort(key=lambda m: m.priority or (0, 0, 0, 0, b""), reverse=True)
        yield from globs
