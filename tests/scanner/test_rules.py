"""Every rule is data with its own examples: each true example is found, each false one is not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strongroom.scanner import RULES, Scanner
from strongroom.scanner.filters import VALIDATORS, github_crc32, shannon_entropy
from strongroom.scanner.rules import rule_by_id

SCANNER = Scanner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scanner.md"


def _ids(rule_id: str, text: str) -> list[str]:
    return [f.rule_id for f in SCANNER.scan_text(text, "example.txt")]


@pytest.mark.parametrize(
    ("rule_id", "example"), [(r.id, ex) for r in RULES for ex in r.examples], ids=lambda v: str(v)[:40]
)
def test_true_examples_are_found(rule_id: str, example: str) -> None:
    assert rule_id in _ids(rule_id, example)


@pytest.mark.parametrize(
    ("rule_id", "example"), [(r.id, ex) for r in RULES for ex in r.counter_examples], ids=lambda v: str(v)[:40]
)
def test_false_examples_are_not_found(rule_id: str, example: str) -> None:
    assert rule_id not in _ids(rule_id, example)


def test_rule_data_is_complete() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.examples and rule.counter_examples, rule.id
        assert rule.keywords and rule.description, rule.id
        assert "secret" in re.compile(rule.pattern).groupindex, rule.id
        assert rule.validator is None or rule.validator in VALIDATORS or rule.generic, rule.id
        for example in rule.examples:  # the keyword prefilter must let every true example through
            if rule.keyword_case:
                assert any(k in example for k in rule.keywords), (rule.id, example)
            else:
                assert any(k.lower() in example.lower() for k in rule.keywords), (rule.id, example)


def test_required_rule_families_exist() -> None:
    for rule_id in (
        "aws-access-key-id",
        "aws-secret-access-key",
        "gcp-service-account",
        "azure-storage-connection-string",
        "github-token",
        "gitlab-token",
        "slack-token",
        "slack-webhook",
        "stripe-secret-key",
        "sendgrid-api-key",
        "twilio-api-key",
        "npm-token",
        "pypi-token",
        "docker-config-auth",
        "private-key",
        "jwt",
        "database-url",
        "generic-password",
        "generic-secret",
    ):
        rule_by_id(rule_id)
    with pytest.raises(KeyError):
        rule_by_id("no-such-rule")


def test_every_rule_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [r.id for r in RULES if f"`{r.id}`" not in text]
    assert not missing, f"rules missing from docs/scanner.md: {missing}"


def test_github_checksum_validator() -> None:
    good = "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"  # strongroom:allow
    assert github_crc32(good)
    assert not github_crc32(good[:-1] + "Y")
    assert not github_crc32(good[:10] + "Q" + good[11:])


def test_entropy_orders_random_above_words() -> None:
    assert shannon_entropy("aaaaaaaa") == 0.0
    assert shannon_entropy("password") < 3.0 < shannon_entropy("Qm3xT7pLw9Zc4Vb8Nk2Rj6Hd")


def test_public_surface_is_pinned() -> None:
    import strongroom.scanner as pkg

    assert sorted(pkg.__all__) == ["Finding", "RULES", "Rule", "Scanner"]
