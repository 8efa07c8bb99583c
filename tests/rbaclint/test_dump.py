"""A large generated cluster dump (JSON and YAML) and the API-server configuration fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import yaml

from strongroom.rbaclint.engine import lint
from strongroom.rbaclint.loader import load_paths
from strongroom.rbaclint.whocan import who_can
from tests.rbaclint.clustergen import generate

FIXTURES = Path(__file__).parent / "fixtures"


def _dump(tmp_path: Path, n: int, fmt: str) -> Path:
    data = generate(n)
    path = tmp_path / f"dump.{fmt}"
    if fmt == "json":
        path.write_bytes(orjson.dumps(data))
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_large_json_dump(tmp_path):
    path = _dump(tmp_path, 3000, "json")
    loaded = load_paths([str(path)])
    assert len(loaded.objects) == 3000 and not loaded.errors
    report = lint(loaded.objects)
    by_rule = Counter(f.rule_id for f in report.findings)
    # planted problems
    assert any(
        f.rule_id == "cluster-wide-serviceaccount-grant" and f.obj.name == "legacy-app-view" for f in report.findings
    )
    wildcard = [f for f in report.findings if f.rule_id == "secrets-wildcard-read"]
    assert [f.obj.name for f in wildcard] == ["crd-reader"]
    assert "platform-reader" in wildcard[0].message  # reported with the aggregating binding
    assert by_rule["builtin-admin-binding"] > 100  # devs-edit in every namespace
    assert by_rule["namespace-without-networkpolicy"] > 50
    # bootstrap cluster-admin binding to system:masters is not a finding
    assert not [f for f in report.findings if f.obj is not None and f.obj.name == "cluster-admin"]


def test_yaml_dump_matches_json(tmp_path):
    a = lint(load_paths([str(_dump(tmp_path, 800, "json"))]).objects)
    b = lint(load_paths([str(_dump(tmp_path, 800, "yaml"))]).objects)
    assert Counter(f.rule_id for f in a.findings) == Counter(f.rule_id for f in b.findings)


def test_who_can_through_aggregation_in_dump(tmp_path):
    from strongroom.rbaclint.model import RbacModel

    model = RbacModel(load_paths([str(_dump(tmp_path, 600, "json"))]).objects)
    rows = who_can(model, "read", "db", "ns-0001")
    sre = [r for r in rows if r.subject == "Group sre"]
    assert sre and "aggregated from ClusterRole/crd-reader" in sre[0].role
    assert any(r.subject == "ServiceAccount ns-0001/api" and r.kind == "direct" for r in rows)
    assert not any(r.subject == "ServiceAccount ns-0002/api" for r in rows)


def test_apiserver_config_fixtures():
    bad = lint(load_paths([str(FIXTURES / "cluster-config-bad.yaml")]).objects)
    rules = {f.rule_id for f in bad.findings}
    assert rules == {"encryption-identity-first", "encryption-weak-key", "audit-secrets-request-body"}
    weak = next(f for f in bad.findings if f.rule_id == "encryption-weak-key")
    assert "not valid base64" in weak.message
    good = lint(load_paths([str(FIXTURES / "good" / "apiserver.yaml")]).objects)
    assert good.findings == []


def test_generated_yaml_dump_takes_the_fast_path():
    """No document of a realistic dump (random base64, uids, images) needs the slow YAML 1.1 parser."""
    from strongroom.rbaclint.loader import _YAML11_ONLY

    text = yaml.safe_dump(generate(2000), sort_keys=False)
    hit = _YAML11_ONLY.search(" " + text)
    assert hit is None, text[max(hit.start() - 40, 0) : hit.end() + 40]
