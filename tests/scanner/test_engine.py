"""Engine behaviour: context filters, allow comments, priorities, redaction and fingerprints."""

from __future__ import annotations

import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.scanner import Scanner
from strongroom.scanner.engine import fingerprint, redact
from strongroom.scanner.report import to_json, to_sarif
from strongroom.scanner.runner import ScanResult

S = Scanner()
AWS = "AKIAT7V4SEH2KVJ72CEU"  # strongroom:allow
GH = "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"  # strongroom:allow


def rules(text: str, path: str = "x.txt") -> list[str]:
    return [f.rule_id for f in S.scan_text(text, path)]


def test_line_column_and_preview() -> None:
    text = "a = 1\nb = 2\nkey_id = " + AWS + "\n"
    (f,) = S.scan_text(text, "conf.ini")
    assert (f.rule_id, f.path, f.line, f.column, f.end_line) == ("aws-access-key-id", "conf.ini", 3, 10, 3)
    assert AWS not in f.preview and f.preview.startswith("key_id = AKIA****")


def test_private_key_spans_lines() -> None:
    body = "\n".join("MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" for _ in range(3))
    body = body.replace("gun", "gu1", 1)
    text = f"x\n-----BEGIN RSA PRIVATE KEY-----\n{body}Zq8vnR2kd7W\n-----END RSA PRIVATE KEY-----\n"
    (f,) = S.scan_text(text, "id_rsa")
    assert (f.rule_id, f.line, f.end_line) == ("private-key", 2, 6)
    assert "MIIE" not in f.preview


def test_allow_comment_suppresses_only_its_line() -> None:
    text = f"a = '{AWS}'  # strongroom:allow\nb = '{AWS}'\n"
    assert [f.line for f in S.scan_text(text, "x.py")] == [2]


def test_specific_rule_wins_over_generic() -> None:
    assert rules(f'github_token = "{GH}"', "x.py") == ["github-token"]


def test_rejected_provider_token_does_not_fall_back_to_generic() -> None:
    assert rules(f'github_token = "{GH[:-1]}Q"', "x.py") == []


def test_code_requires_literal_config_does_not() -> None:
    assert rules("password = hK8mW2qLz9", "settings.py") == []
    assert rules("password = hK8mW2qLz9", "settings.ini") == ["generic-password"]
    assert rules('password = "hK8mW2qLz9"', "settings.py") == ["generic-password"]


def test_lockfile_integrity_and_hashes_are_ignored() -> None:
    lock = '{"packages": {"x": {"integrity": "sha512-Zq8vnR2kd7WdK0qWk12dwb4XYaQ==", "token": "Qm3xT7pLw9Zc4Vb8Nk2R"}}}'  # strongroom:allow  # noqa: E501
    assert rules(lock, "package-lock.json") == []
    assert rules('secret_sha = "' + "ab" * 32 + '"', "x.py") == []


def test_documented_example_keys_are_ignored() -> None:
    assert rules("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == []


def test_non_ascii_text_keeps_offsets() -> None:
    text = "İİİ ünïcode " * 3 + f"\nid = {AWS}\n"
    (f,) = S.scan_text(text)
    assert f.line == 2 and f.column == 6


def test_fingerprint_is_stable_and_rule_scoped() -> None:
    assert fingerprint("a", "s") == fingerprint("a", "s") != fingerprint("b", "s")
    a = S.scan_text(f"x = '{AWS}'", "one.py")[0]
    b = S.scan_text(f"\n\n   y = '{AWS}'", "two.py")[0]
    assert a.fingerprint == b.fingerprint


def test_redact_reveals_only_prefix() -> None:
    assert redact("hunter2hunter2") == "********(14 chars)"
    assert redact(GH, 4) == "ghp_********(40 chars)"
    assert redact("abc", 4) == "********(3 chars)"


ALPHABET = string.ascii_letters + string.digits


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(alphabet=ALPHABET, min_size=12, max_size=40).filter(
        lambda s: sum(c.isdigit() for c in s) >= 2 and any(c.isalpha() for c in s)
    ),
    template=st.sampled_from(
        ['db_password = "{}"', "client_secret: {}", "DATABASE_URL=postgres://app:{}@db/x", 'API_KEY="{}" # {}']
    ),
)
def test_no_output_format_ever_contains_the_secret(secret: str, template: str) -> None:
    text = template.format(secret, secret)
    findings = S.scan_text(text, "app.env")
    result = ScanResult(findings=findings, files=1, bytes=len(text))
    for rendered in (to_json(result), to_sarif(result), json.dumps([f.preview for f in findings])):
        assert secret not in rendered


def test_preview_masks_the_rest_of_a_value_cut_short() -> None:
    (f,) = S.scan_text("password = Tr0ub4dor,and-the-rest # note\n", "app.ini")
    assert f.preview == "password = ********(9 chars) # note"


def test_hyperscan_and_ahocorasick_prefilters_agree(tmp_path) -> None:
    from tests.scanner.corpus import generate

    generate(tmp_path, size_bytes=300_000, seed=11)
    slow = Scanner(use_hyperscan=False)
    assert not slow._keywords.accelerated
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            text = path.read_text()
            assert S.scan_text(text, path.name) == slow.scan_text(text, path.name), path
    text = "ünïcode " + AWS + " password: Zq8v!nR2kd7W"  # non-ASCII text takes the fallback path
    assert S.scan_text(text, "x.yaml") == slow.scan_text(text, "x.yaml") != []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    "kind: Secret",
                    "data:",
                    "  password: ",
                    "-----BEGIN PRIVATE KEY-----",
                    "---",
                    "kind: SealedSecret",
                    "client-key-data: ",
                    '"auth": "',
                    "postgres://a:",
                    "ghp_",
                    "eyJ",
                    "password = '",
                    "\x00",
                    "İ",
                ]
            ),
        ),
        max_size=30,
    )
)
def test_arbitrary_text_never_crashes(parts: list[str]) -> None:
    text = "".join(parts)
    for f in S.scan_text(text, "fuzz.yaml"):
        assert 1 <= f.line <= f.end_line <= text.count("\n") + 1
