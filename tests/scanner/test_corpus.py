"""Recall and precision per rule on a generated corpus with planted secrets and tricky negatives."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.scanner import runner, walk
from tests.scanner.corpus import generate, score_by_rule, score_locations


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("corpus")
    return root, generate(root, size_bytes=3_000_000, seed=20261122)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", size_bytes=200_000, seed=5)
    b = generate(tmp_path / "b", size_bytes=200_000, seed=5)
    assert a == b and a
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())


def test_recall_and_precision_per_rule(corpus: tuple[Path, list]) -> None:
    root, truth = corpus
    found = walk.walk([str(root)])
    result = runner.scan_files(found.files, root_display=lambda p: str(Path(p).relative_to(root)), jobs=2)
    assert not result.errors
    per_rule = score_by_rule(truth, [(f.path, f.line, f.rule_id) for f in result.findings])
    planted_rules = {t.rule for t in truth}
    assert len(planted_rules) >= 18
    weak = {
        rule: (round(s.recall, 3), round(s.precision, 3))
        for rule, s in per_rule.items()
        if s.recall < 0.97 or s.precision < 0.97
    }
    assert not weak, weak
    overall = score_locations(truth, {(f.path, f.line) for f in result.findings})
    assert overall.f1 > 0.98


def test_location_scoring() -> None:
    from tests.scanner.corpus import Planted

    truth = [Planted("a", 1, 3, "private-key"), Planted("b", 5, 5, "jwt")]
    s = score_locations(truth, {("a", 2), ("a", 3), ("c", 1)})
    assert (s.tp, s.fn, s.fp, s.reported_tp) == (1, 1, 1, 2)
    assert s.recall == 0.5 and round(s.precision, 3) == 0.667
