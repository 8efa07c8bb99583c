"""Keyword prefilter: every (end offset, rule indexes) where a rule keyword occurs, case-insensitively.

Hyperscan (Vectorscan-style SIMD literal matching) scans ASCII text at gigabytes per second; text with
non-ASCII characters, or a machine without the hyperscan wheel, falls back to a pyahocorasick automaton
over the lower-cased text. Both report the same hits, which a test checks.
"""

from __future__ import annotations

import re
from typing import Any

import ahocorasick

_hs: Any
try:  # optional accelerator: a binary wheel that may be missing on some platforms
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised only where the wheel is unavailable
    _hs = None

__all__ = ["KeywordIndex"]

Hit = tuple[int, tuple[int, ...]]


class KeywordIndex:
    """`keywords` maps (keyword, case_sensitive) to rule indexes. Case-sensitive keywords (`SK`, `eyJ`) only
    narrow the hyperscan pass; the automaton treats them caselessly, which finds a superset of lines, and
    the rule's regex decides either way."""

    def __init__(self, keywords: dict[tuple[str, bool], tuple[int, ...]], *, use_hyperscan: bool = True) -> None:
        self._values = list(keywords.values())
        merged: dict[str, set[int]] = {}
        for (keyword, _case), indexes in keywords.items():
            merged.setdefault(keyword.lower(), set()).update(indexes)
        self._automaton = ahocorasick.Automaton()
        for keyword, index_set in merged.items():
            self._automaton.add_word(keyword, tuple(sorted(index_set)))
        self._automaton.make_automaton()
        self._db: Any = None
        if use_hyperscan and _hs is not None and keywords:
            db = _hs.Database()
            db.compile(
                expressions=[re.escape(k if case else k.lower()).encode() for k, case in keywords],
                ids=list(range(len(keywords))),
                elements=len(keywords),
                flags=[0 if case else _hs.HS_FLAG_CASELESS for _k, case in keywords],
            )
            self._db = db

    @property
    def accelerated(self) -> bool:
        return self._db is not None

    def hits(self, text: str, lower: str) -> list[Hit]:
        """Hits sorted by end offset (inclusive), as str indexes into `text`."""
        if self._db is not None and text.isascii():
            out: list[Hit] = []
            values = self._values

            def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
                out.append((end - 1, values[ident]))

            self._db.scan(text.encode("ascii"), match_event_handler=on_match)
            out.sort(key=lambda hit: hit[0])
            return out
        return list(self._automaton.iter(lower))
