"""The generic rule test: every check fires on its positive example and stays quiet on its negative one."""

from __future__ import annotations

import pytest

from strongroom.rbaclint.base import Severity
from strongroom.rbaclint.checks import CHECK_IDS, CHECKS
from strongroom.rbaclint.engine import lint, select_checks
from strongroom.rbaclint.loader import load_text


def _ids(text: str) -> list[str]:
    loaded = load_text(text, "example.yaml")
    assert not loaded.errors, loaded.errors
    assert loaded.objects
    return [f.rule_id for f in lint(loaded.objects).findings]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_positive_example_is_flagged(check):
    assert check.id in _ids(check.positive)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_negative_example_is_clean(check):
    assert check.id not in _ids(check.negative)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_check_is_documented_data(check):
    assert check.id == check.id.lower() and " " not in check.id
    assert check.title and check.hint and isinstance(check.severity, Severity)
    assert check.positive != check.negative


def test_ids_unique_and_selection():
    assert len(CHECK_IDS) == len(CHECKS)
    assert [c.id for c in select_checks(only=["impersonate"])] == ["impersonate"]
    assert "impersonate" not in [c.id for c in select_checks(skip=["impersonate"])]
    with pytest.raises(ValueError, match="unknown check"):
        select_checks(only=["no-such-rule"])


def test_every_rule_is_in_the_docs():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()
    missing = [c.id for c in CHECKS if f"`{c.id}`" not in doc]
    assert not missing, f"undocumented rules: {missing}"


def test_public_surface_is_pinned():
    import strongroom.rbaclint as pkg

    assert sorted(pkg.__all__) == sorted(
        [
            "CHECKS",
            "Check",
            "Finding",
            "K8sObject",
            "LoadError",
            "LoadResult",
            "RbacModel",
            "Report",
            "Severity",
            "lint",
            "load_paths",
            "load_text",
            "select_checks",
        ]
    )
