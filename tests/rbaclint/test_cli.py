"""The `strongroom lint` command: formats, exit codes, suppressions, stdin, who-can, unused."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli

FIXTURES = Path(__file__).parent / "fixtures"
HELM = str(FIXTURES / "helm-rendered.yaml")
GOOD = str(FIXTURES / "good")
SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["lint", *args], input=stdin, catch_exceptions=False)


def test_help_lists_subcommands():
    result = run("--help")
    assert result.exit_code == 0
    for word in ("check", "who-can", "unused", "rules"):
        assert word in result.output
    assert run("check", "--help").exit_code == 0
    assert run("who-can", "--help").exit_code == 0


def test_helm_chart_findings_json():
    result = run(HELM, "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    rules = {f["rule"] for f in doc["findings"]}
    assert {
        "secrets-list-watch",
        "cluster-wide-serviceaccount-grant",
        "committed-secret",
        "secret-in-env",
        "secret-volume-mode",
        "namespace-without-networkpolicy",
    } <= rules
    committed = [f for f in doc["findings"] if f["rule"] == "committed-secret"]
    assert [f["object"] for f in committed] == ["Secret/shop/shop-db"]  # the empty one is fine
    assert "password" in committed[0]["message"]
    assert "c3VwZXIt" not in result.output and "super-secret" not in result.output  # values never printed
    assert committed[0]["line"] == 15
    assert [f["rule"] for f in doc["suppressed"]] == ["automount-serviceaccount-token"]
    assert doc["suppressed"][0]["suppressed"] == "the shop controller watches ConfigMaps"
    assert doc["errors"] == []


def test_good_manifests_pass():
    result = run(GOOD, "--fail-on", "low")
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.output


def test_fail_on_threshold():
    assert run(HELM, "--fail-on", "critical").exit_code == 0
    assert run(HELM, "--fail-on", "high").exit_code == 1
    assert run(HELM, "--only", "namespace-without-networkpolicy").exit_code == 0
    assert run(HELM, "--only", "namespace-without-networkpolicy", "--fail-on", "low").exit_code == 1


def test_stdin_like_helm_template():
    result = run("-", "--format", "json", stdin=Path(HELM).read_text())
    assert result.exit_code == 1
    findings = json.loads(result.output)["findings"]
    assert {f["source"] for f in findings} == {"<stdin>"}
    rbac = next(f for f in findings if f["rule"] == "secrets-list-watch")
    assert rbac["template"] == "shop/templates/rbac.yaml"  # Helm's `# Source:` comment


def test_sarif_validates_against_official_schema(tmp_path):
    out = tmp_path / "lint.sarif"
    result = run(HELM, str(FIXTURES / "cluster-config-bad.yaml"), "--format", "sarif", "-o", str(out))
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    run_ = doc["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    for res in run_["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
    suppressed = [r for r in run_["results"] if r.get("suppressions")]
    assert suppressed and suppressed[0]["suppressions"][0]["justification"]
    assert any(r["ruleId"] == "encryption-identity-first" for r in run_["results"])
    assert "BASE 64" not in out.read_text()  # key material never echoed


def test_bad_input_exit_2_but_findings_still_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(HELM).read_text() + "\n---\nkind: X\n  broken: [\n")
    result = CliRunner().invoke(cli, ["lint", str(bad), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["findings"] and doc["errors"][0]["message"].startswith("invalid YAML")


def test_usage_errors_exit_2():
    assert run().exit_code == 2
    assert run(HELM, "--only", "nope").exit_code == 2
    assert run("/definitely/missing").exit_code == 2
    assert run(HELM, "--format", "json", "-o", "/no/such/dir/out.json").exit_code == 2
    assert run(HELM, "-o", "/no/such/dir/out.txt").exit_code == 2


def test_suppression_without_reason_is_a_finding(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: a\n"
        "  annotations:\n    strongroom.io/lint-ignore: 'secrets-list-watch'\n"
        "rules:\n- {apiGroups: [''], resources: [secrets], verbs: [list]}\n"
    )
    doc = json.loads(run(str(f), "--format", "json").output)
    assert {x["rule"] for x in doc["findings"]} == {"secrets-list-watch", "invalid-suppression"}
    f.write_text(f.read_text().replace("'secrets-list-watch'", "'secrets-list-watch: audited reconciler'"))
    doc = json.loads(run(str(f), "--format", "json").output)
    assert doc["findings"] == [] and doc["suppressed"][0]["rule"] == "secrets-list-watch"


def test_human_output_has_table_and_summary():
    result = run(HELM)
    assert "secrets-list-watch" in result.output and "fix:" in result.output
    assert "findings" in result.output.splitlines()[-1]
    assert "the-secret" in result.output  # `[the-secret]` in a hint is text, not rich markup


def test_who_can_read_secret():
    result = run("who-can", "read", "secret/shop-db", "-n", "shop", HELM, GOOD, "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)["subjects"]
    shop = [r for r in rows if r["subject"] == "ServiceAccount shop/shop"]
    assert shop and shop[0]["access"] == "direct" and "list" in shop[0]["how"]
    assert shop[0]["binding"] == "ClusterRoleBinding/shop-secret-reader"
    assert not [r for r in rows if r["subject"] == "ServiceAccount billing/billing"]
    other = json.loads(
        run("who-can", "read", "secret/billing-db", "-n", "billing", GOOD, HELM, "--format", "json").output
    )["subjects"]
    assert {r["subject"] for r in other} >= {"ServiceAccount billing/billing", "ServiceAccount shop/shop"}
    assert run("who-can", "read", "configmap/x", "-n", "a", HELM).exit_code == 2


def test_who_can_indirect_paths(tmp_path):
    f = tmp_path / "rb.yaml"
    f.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: devs, namespace: shop}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n"
        "subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]\n"
    )
    rows = json.loads(run("who-can", "read", "secret/x", "-n", "shop", str(f), "--format", "json").output)["subjects"]
    kinds = {r["access"] for r in rows if r["subject"] == "Group devs"}
    assert kinds == {"direct", "indirect"}
    indirect = next(r for r in rows if r["subject"] == "Group devs" and r["access"] == "indirect")
    assert "pods/exec" in indirect["how"] and "create pods" in indirect["how"]
    assert any(r["subject"] == "Group system:masters" for r in rows)


def test_unused():
    result = run("unused", HELM, "--format", "json")
    assert result.exit_code == 0
    refs = {u["object"] for u in json.loads(result.output)["unused"]}
    assert refs == set()  # everything in the chart is referenced
    extra = run("unused", HELM, str(FIXTURES / "unused.yaml"), "--format", "json")
    refs = {u["object"]: u["reason"] for u in json.loads(extra.output)["unused"]}
    assert set(refs) == {"Role/shop/orphan", "RoleBinding/shop/dangling", "Secret/shop/old-token"}
    assert "missing Role ghost" in refs["RoleBinding/shop/dangling"]


def test_rules_listing():
    doc = json.loads(run("rules", "--format", "json").output)
    assert {"id", "severity", "hint"} <= set(doc[0])


@pytest.mark.parametrize("fmt", ["human", "json", "sarif"])
def test_formats_on_empty_input(tmp_path, fmt):
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    assert run(str(tmp_path), "--format", fmt).exit_code == 0


def test_human_report_to_file_with_suppressed(tmp_path):
    out = tmp_path / "report.txt"
    result = run(HELM, "--show-suppressed", "-o", str(out))
    assert result.exit_code == 1 and result.output == ""
    text = out.read_text()
    assert "automount-serviceaccount-token" in text and "suppressed" in text
