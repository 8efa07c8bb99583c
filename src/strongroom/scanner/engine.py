"""The matching engine: keyword prefilter, per-line regex, entropy/validator filters, context, redaction.

Why this shape: one keyword pass (hyperscan, or pyahocorasick as a fallback; see `prefilter`) finds
every rule keyword; a rule's regex then runs only on the lines where one of its keywords occurs (or a
bounded window for multi-line rules such as PEM keys). Text with no keyword costs one C-level pass.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass
from typing import Any

from strongroom.scanner import kube
from strongroom.scanner.filters import GENERIC_VALIDATORS, VALIDATORS, is_documented_example, shannon_entropy
from strongroom.scanner.prefilter import KeywordIndex
from strongroom.scanner.rules import RULES, SPECIFIC, Rule

__all__ = ["Finding", "Scanner", "fingerprint", "redact"]

_TOKEN_END = re.compile(r"[\s\"'`]")
ALLOW_MARKERS = ("strongroom:allow", "gitleaks:allow", "pragma: allowlist secret")
MULTILINE_WINDOW = 20_000
CODE_EXTENSIONS = frozenset(
    {
        ".py",
        ".pyi",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".rb",
        ".php",
        ".cs",
        ".c",
        ".cc",
        ".cpp",
        ".h",
        ".hpp",
        ".rs",
        ".swift",
        ".tf",
        ".hcl",
        ".groovy",
        ".gradle",
        ".dart",
        ".lua",
        ".pl",
        ".r",
        ".m",
        ".vue",
        ".svelte",
    }
)
LOCKFILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "uv.lock",
        "pipfile.lock",
        "cargo.lock",
        "go.sum",
        "composer.lock",
        "gemfile.lock",
        "npm-shrinkwrap.json",
        "packages.lock.json",
        "pdm.lock",
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected secret. Holds a fingerprint and a redacted preview, never the secret itself."""

    rule_id: str
    description: str
    path: str
    line: int
    column: int
    end_line: int
    preview: str
    fingerprint: str
    commit: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_location(self, **changes: Any) -> Finding:
        data = asdict(self)
        data.update(changes)
        return Finding(**data)


def fingerprint(rule_id: str, secret: str) -> str:
    """Stable identity of a finding across moves and edits: a hash of the rule and the secret."""
    return hashlib.sha256(f"strongroom-scan-v1\0{rule_id}\0{secret}".encode()).hexdigest()


def redact(secret: str, reveal_prefix: int = 0) -> str:
    """Show at most a rule's fixed, non-secret prefix (like `ghp_`), then stars and the length."""
    prefix = secret[:reveal_prefix] if reveal_prefix and len(secret) >= 3 * reveal_prefix else ""
    return f"{prefix}{'*' * 8}({len(secret)} chars)"


@dataclass(slots=True)
class _Candidate:
    rule: Rule
    start: int
    end: int
    match_start: int
    secret: str


class Scanner:
    """Compiled rules plus the keyword automaton. Build once per process; `scan_text` is pure."""

    def __init__(self, rules: tuple[Rule, ...] = RULES, *, use_hyperscan: bool = True) -> None:
        self.rules = rules
        self._patterns = [rule.compile() for rule in rules]
        by_keyword: dict[tuple[str, bool], list[int]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                key = (keyword, True) if rule.keyword_case else (keyword.lower(), False)
                by_keyword.setdefault(key, []).append(index)
        self._keywords = KeywordIndex({k: tuple(v) for k, v in by_keyword.items()}, use_hyperscan=use_hyperscan)

    def scan_text(self, text: str, path: str = "", *, decode_kube: bool = True) -> list[Finding]:
        lower = text.lower()
        if len(lower) != len(text):  # a few non-ASCII characters change length when lower-cased
            lower = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        hidden = kube.hidden_ranges(text, lower) if decode_kube else []
        decoded = kube.encoded_values(text, lower) if decode_kube else []
        generic_muted = [(d.start, d.end) for d in decoded]
        candidates, rejected = self._candidates(text, lower, path, generic_muted)
        if rejected:  # a span a provider rule looked at and rejected (bad checksum, example key) stays quiet
            candidates = [
                c for c in candidates if not (c.rule.generic and any(a < c.end and c.start < b for a, b in rejected))
            ]
        findings = self._finalise(text, path, candidates, hidden)
        for value in decoded:
            findings.extend(self._scan_decoded(text, path, value, hidden))
        return findings

    # -- stages -------------------------------------------------------------------------------------

    def _windows(self, text: str, lower: str) -> dict[int, set[int]]:
        """rule index -> start offsets of the lines holding one of its keywords."""
        windows: dict[int, set[int]] = {}
        line_start = line_end = -1
        size = len(text)
        for end, indexes in self._keywords.hits(text, lower):
            if end >= line_end:
                line_start = text.rfind("\n", 0, end) + 1
                line_end = text.find("\n", end)
                if line_end == -1:
                    line_end = size
            for index in indexes:
                windows.setdefault(index, set()).add(line_start)
        return windows

    def _candidates(
        self, text: str, lower: str, path: str, generic_muted: list[tuple[int, int]]
    ) -> tuple[list[_Candidate], list[tuple[int, int]]]:
        base = os.path.basename(path).lower()
        code_file = os.path.splitext(base)[1] in CODE_EXTENSIONS
        lockfile = base in LOCKFILES
        out: list[_Candidate] = []
        rejected: list[tuple[int, int]] = []
        seen: set[tuple[int, int, int]] = set()
        size = len(text)
        for index, starts in self._windows(text, lower).items():
            rule = self.rules[index]
            if rule.generic and lockfile:
                continue
            pattern = self._patterns[index]
            for start in sorted(starts):
                if rule.multiline:
                    stop = min(size, start + MULTILINE_WINDOW)
                else:
                    stop = text.find("\n", start)
                    stop = size if stop == -1 else stop
                for match in pattern.finditer(text, start, stop):
                    s, e = match.span("secret")
                    if (index, s, e) in seen:
                        continue
                    seen.add((index, s, e))
                    if rule.generic and any(a <= s < b for a, b in generic_muted):
                        continue
                    if self._accept(rule, match.group("secret"), match.groupdict(), code_file):
                        out.append(_Candidate(rule, s, e, match.start(), match.group("secret")))
                    elif rule.priority == SPECIFIC:
                        rejected.append((s, e))
        return out, rejected

    @staticmethod
    def _accept(rule: Rule, secret: str, groups: dict[str, str | None], code_file: bool) -> bool:
        if not secret or is_documented_example(secret):
            return False
        if rule.validator in GENERIC_VALIDATORS:  # cheap context checks first: most generic matches fail them
            key = groups.get("key") or ""
            if not GENERIC_VALIDATORS[rule.validator](key, secret, bool(groups.get("q")), code_file):
                return False
        elif rule.validator is not None and not VALIDATORS[rule.validator](secret):
            return False
        return rule.entropy is None or shannon_entropy(secret) >= rule.entropy

    def _finalise(
        self, text: str, path: str, candidates: list[_Candidate], hidden: list[tuple[int, int]]
    ) -> list[Finding]:
        if not candidates:
            return []
        kept: list[_Candidate] = []
        for cand in sorted(candidates, key=lambda c: (-c.rule.priority, c.start)):
            if any(a <= cand.start < b for a, b in hidden):
                continue
            if any(cand.start < k.end and k.start < cand.end for k in kept):
                continue
            if _allowed(text, cand.match_start) or _allowed(text, cand.start):
                continue
            kept.append(cand)
        findings = []
        for cand in sorted(kept, key=lambda c: c.start):
            line = _line_of(text, cand.start)
            end_line = line + text.count("\n", cand.start, cand.end)
            line_start = text.rfind("\n", 0, cand.start) + 1
            findings.append(
                Finding(
                    rule_id=cand.rule.id,
                    description=cand.rule.description,
                    path=path,
                    line=line,
                    column=cand.start - line_start + 1,
                    end_line=end_line,
                    preview=_preview(text, cand),
                    fingerprint=fingerprint(cand.rule.id, cand.secret),
                )
            )
        return findings

    def _scan_decoded(
        self, text: str, path: str, value: kube.EncodedValue, hidden: list[tuple[int, int]]
    ) -> list[Finding]:
        if any(a <= value.start < b for a, b in hidden) or _allowed(text, value.start):
            return []
        plain = value.decoded
        inner_text = f'{value.key}: "{plain}"' if "\n" not in plain and len(plain) < 1000 else plain
        inner = self.scan_text(inner_text, "decoded.yaml", decode_kube=False)
        line = _line_of(text, value.start)
        preview = f"{value.key}: <base64, {value.end - value.start} chars, redacted>"
        return [
            f.with_location(path=path, line=line, end_line=line, column=1, preview=preview, source=value.source)
            for f in inner
        ]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _allowed(text: str, offset: int) -> bool:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : end if end != -1 else len(text)]
    return any(marker in line for marker in ALLOW_MARKERS)


def _preview(text: str, cand: _Candidate) -> str:
    """The finding's first line with every copy of the secret (or its part on that line) redacted."""
    start = text.rfind("\n", 0, cand.start) + 1
    end = text.find("\n", cand.start)
    end = len(text) if end == -1 else end
    masked = redact(cand.secret, cand.rule.reveal_prefix)
    if cand.end > end:  # multi-line secret: keep only what precedes it on its first line
        line = text[start : cand.start] + masked
    else:
        # Mask to the end of the token too: a value cut short at `,` or `;` must not leak its tail.
        tail = _TOKEN_END.search(text, cand.end, end)
        stop = tail.start() if tail else end
        line = (text[start : cand.start] + masked + text[stop:end]).replace(cand.secret, masked)
    line = line.strip()
    return line if len(line) <= 200 else line[:197] + "..."
