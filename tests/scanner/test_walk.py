"""File discovery honours nested .gitignore files, negations, .strongroomignore and excludes."""

from __future__ import annotations

from pathlib import Path

from strongroom.scanner.walk import walk


def names(root: Path, **kwargs: object) -> list[str]:
    found = walk([str(root)], **kwargs)  # type: ignore[arg-type]
    return sorted(str(Path(p).relative_to(root)) for p, _ in found.files)


def test_nested_ignore_rules(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "a" / ".gitignore").write_text("*.env\n!keep.env\n")
    (tmp_path / "a" / "b" / ".strongroomignore").write_text("fixtures/\n")
    (tmp_path / "a" / "b" / "fixtures").mkdir()
    for rel in ["top.log", "top.env", "a/x.env", "a/keep.env", "a/b/y.log", "a/b/z.py", "a/b/fixtures/f.py"]:
        (tmp_path / rel).write_text("x\n")
    assert names(tmp_path) == ["a/b/z.py", "a/keep.env", "top.env"]
    assert "a/x.env" in names(tmp_path, use_gitignore=False)
    assert names(tmp_path, excludes=["a/"]) == ["top.env"]


def test_binary_extension_large_and_symlink(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_text("x" * 100)
    (tmp_path / "small.txt").write_text("x")
    (tmp_path / "link.txt").symlink_to(tmp_path / "small.txt")
    result = walk([str(tmp_path)], max_bytes=50)
    assert [Path(p).name for p, _ in result.files] == ["small.txt"]
    assert (result.skipped_binary, result.skipped_large) == (1, 1)
