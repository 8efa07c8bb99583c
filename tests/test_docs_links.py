"""Relative links in README.md and docs/**/*.md resolve, and every top-level command has a linked guide.

Links are extracted with markdown-it-py (CommonMark: inline, reference-style and image links; code spans and
code blocks are not links), plus `href`/`src` in raw HTML. Anchors (`#...`) and query strings are ignored; external
URLs are not fetched (no network in tests). All dead links are reported in one failure.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

REPO = Path(__file__).resolve().parent.parent
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _markdown_files() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [path for path in files if path.is_file()]


def _targets(token: Token) -> Iterator[str]:
    if token.type == "link_open":
        yield str(token.attrGet("href") or "")
    elif token.type == "image":
        yield str(token.attrGet("src") or "")
    elif token.type in ("html_inline", "html_block"):
        yield from HTML_LINK.findall(token.content)
    for child in token.children or []:
        yield from _targets(child)


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) for every link in a Markdown file; the line is the link's block start, refined by search."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        start = token.map[0] if token.map else 0
        for target in _targets(token):
            line = next((i for i in range(start, len(lines)) if target in lines[i]), start)
            found.append((line + 1, target))
    return found


def _resolve(source: Path, target: str) -> Path | None:
    """The local file a relative link points to, or None for external links and pure anchors."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = unquote(parts.path)
    base = REPO if path.startswith("/") else source.parent
    return (base / path.lstrip("/")).resolve()


def dead_links(files: list[Path]) -> list[str]:
    dead: list[str] = []
    for source in files:
        for line, target in links(source):
            resolved = _resolve(source, target)
            if resolved is None:
                continue
            where = f"{source.relative_to(REPO)}:{line}: ({target})"
            if not resolved.is_relative_to(REPO):
                dead.append(f"{where} points outside the repository")
            elif not resolved.exists():
                dead.append(f"{where} -> {resolved.relative_to(REPO)} does not exist")
    return dead


def test_markdown_files_found() -> None:
    files = _markdown_files()
    assert REPO / "README.md" in files
    assert any(path.parent.name == "docs" for path in files), "no docs/*.md found"


def test_relative_links_resolve() -> None:
    dead = dead_links(_markdown_files())
    assert not dead, f"{len(dead)} dead relative link(s):\n" + "\n".join(dead)


def test_every_benchmark_page_is_linked_from_the_index() -> None:
    # CONTRIBUTING: results live in docs/benchmarks/<area>.md, linked from docs/benchmarks.md.
    index = REPO / "docs" / "benchmarks.md"
    pages = sorted((REPO / "docs" / "benchmarks").glob("*.md"))
    if not index.is_file() or not pages:
        pytest.skip("no benchmark pages yet")
    linked = {p for _, t in links(index) if (p := _resolve(index, t)) is not None}
    unlinked = [str(page.relative_to(REPO)) for page in pages if page.resolve() not in linked]
    assert not unlinked, f"not linked from docs/benchmarks.md (add a row): {unlinked}"


def _load_generator() -> ModuleType:
    name = "strongroom_gen_cli_docs"
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.machinery.SourceFileLoader(name, str(REPO / "scripts" / "gen-cli-docs"))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def test_every_top_level_command_has_a_linked_guide() -> None:
    from strongroom.cli.main import COMMANDS

    gen = _load_generator()
    linked: set[Path] = set()
    for source in (REPO / "README.md", REPO / "docs" / "cli.md"):
        if source.is_file():
            linked |= {p for _, t in links(source) if (p := _resolve(source, t)) is not None}
    problems: list[str] = []
    for name in sorted(COMMANDS):
        page = gen.doc_page(name)
        if page is None:
            problems.append(f"`strongroom {name}`: no guide (write docs/{name}.md, or map it in DOC_PAGES in "
                            "scripts/gen-cli-docs)")
        elif (REPO / "docs" / page).resolve() not in linked:
            problems.append(f"`strongroom {name}`: docs/{page} is not linked from README.md or docs/cli.md "
                            "(run scripts/gen-cli-docs)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[a](x.md) and [b](#anchor) and [c](https://example.com/y.md)", ["x.md", "#anchor", "https://example.com/y.md"]),
        ("![shot](img/a.png)\n\n[ref]\n\n[ref]: ../z.md#part", ["img/a.png", "../z.md#part"]),
        ("`[not](a-link.md)`\n\n```\n[nor](this.md)\n```\n", []),
        ('<a href="h.md">h</a> <img src="i.png">', ["h.md", "i.png"]),
        ("| a | b |\n|---|---|\n| [t](t.md) | x |\n", ["t.md"]),
    ],
)
def test_link_extraction(tmp_path: Path, markdown: str, expected: list[str]) -> None:
    page = tmp_path / "page.md"
    page.write_text(markdown, encoding="utf-8")
    assert [target for _, target in links(page)] == expected


def test_dead_links_are_all_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ok.md").write_text("fine", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/ok.md#x)\n[gone](docs/gone.md)\n\n[out](../../etc/passwd)\n[root](/docs/ok.md)\n",
                    encoding="utf-8")
    dead = dead_links([page])
    assert dead == [
        "README.md:2: (docs/gone.md) -> docs/gone.md does not exist",
        "README.md:4: (../../etc/passwd) points outside the repository",
    ]
