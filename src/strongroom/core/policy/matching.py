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
first one that matches is the best; prefix rules use a dict per distinct prefix length, probed longest
first (a prefix match's first glob is at its end, so the longest matching prefix is the best prefix).
"""

from __future__ import annotations

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


class RuleIndex(Generic[V]):
    """Immutable lookup structure over exact, prefix and segment rules.

    Every glob gets an integer rank from its priority at build time, so the hot path compares ints.
    """

    __slots__ = ("_exact", "_prefix_by_len", "_prefix_lengths", "_segments")

    def __init__(self, exact: dict[str, V], prefix: dict[str, V], segment: dict[str, V]) -> None:
        self._exact = dict(exact)
        segs = [(SegmentPattern.compile(p), v) for p, v in segment.items()]
        priorities = sorted({prefix_priority(k) for k in prefix} | {seg.priority for seg, _ in segs})
        rank = {prio: i for i, prio in enumerate(priorities)}
        by_len: dict[int, dict[str, tuple[V, int]]] = {}
        for key, value in prefix.items():
            by_len.setdefault(len(key), {})[key] = (value, rank[prefix_priority(key)])
        self._prefix_by_len = by_len
        self._prefix_lengths = tuple(sorted(by_len, reverse=True))
        ranked = sorted(((rank[seg.priority], seg, v) for seg, v in segs), key=lambda t: t[0], reverse=True)
        self._segments = tuple(ranked)

    def __len__(self) -> int:
        return len(self._exact) + sum(map(len, self._prefix_by_len.values())) + len(self._segments)

    def exact(self, path: str) -> V | None:
        return self._exact.get(path)

    def best_glob(self, path: str) -> V | None:
        """The value of the winning prefix or segment rule for `path`, or None."""
        best: V | None = None
        best_rank = -1
        size = len(path)
        for length in self._prefix_lengths:
            if length <= size:
                hit = self._prefix_by_len[length].get(path[:length])
                if hit is not None:
                    best, best_rank = hit
                    break
        if self._segments:
            parts = path.split("/")
            for seg_rank, seg, value in self._segments:
                if seg_rank < best_rank:
                    break  # sorted by rank: nothing later can beat the prefix match
                if seg.matches(parts):
                    return value
        return best

    def all_matches(self, path: str) -> Iterator[Match[V]]:
        """Every rule matching `path`, best first (for explain(); not on the hot path)."""
        hit = self._exact.get(path)
        if hit is not None:
            yield Match(RuleKind.EXACT, path, hit, None)
        globs: list[Match[V]] = []
        for length in self._prefix_lengths:
            head = path[:length]
            if length <= len(path) and head in self._prefix_by_len[length]:
                value = self._prefix_by_len[length][head][0]
                globs.append(Match(RuleKind.PREFIX, head + "*", value, prefix_priority(head)))
        parts = path.split("/")
        globs.extend(
            Match(RuleKind.SEGMENT, seg.pattern, value, seg.priority)
            for _, seg, value in self._segments
            if seg.matches(parts)
        )
        globs.sort(key=lambda m: m.priority or (0, 0, 0, 0, b""), reverse=True)
        yield from globs
