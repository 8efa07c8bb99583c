"""gen-config, lint and the staged rotation state machine, through the CLI."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strongroom.atrest import formats
from strongroom.atrest.config import ConfigError, load, parse
from strongroom.atrest.lint import lint_config, weak_key
from strongroom.atrest.rotate import RotationError, advance, load_state, start
from strongroom.cli.atrest import cli


def _gen(tmp_path: Path, provider: str) -> Path:
    out = tmp_path / f"{provider}.yaml"
    res = CliRunner().invoke(cli, ["gen-config", "--provider", provider, "--output", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("provider", ["kms", "aesgcm", "secretbox", "aescbc"])
def test_gen_config_is_valid_private_and_identity_last(tmp_path: Path, provider: str) -> None:
    path = _gen(tmp_path, provider)
    assert path.stat().st_mode & 0o777 == 0o600
    cfg = load(path)
    provs = cfg.providers_for("secrets")
    assert provs[0].kind == provider and provs[-1].kind == "identity"
    if provider != "kms":
        assert len(provs[0].keys[0].secret) == 32 and weak_key(provs[0].keys[0].secret) is None
    else:
        assert provs[0].raw["apiVersion"] == "v2"
    lint = CliRunner().invoke(cli, ["lint", str(path), "--format", "json"])
    rules = {f["rule"] for f in json.loads(lint.stdout)["findings"]}
    assert lint.exit_code == 0 and rules <= {"SRAR003", "SRAR010"}


def test_gen_config_never_overwrites(tmp_path: Path) -> None:
    path = _gen(tmp_path, "aesgcm")
    before = path.read_text()
    res = CliRunner().invoke(cli, ["gen-config", "--provider", "aesgcm", "--output", str(path)])
    assert res.exit_code == 1 and "exists" in res.output and path.read_text() == before


def _doc(*providers: dict) -> dict:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": list(providers)}],
    }


def _key(name: str, raw: bytes) -> dict:
    return {"name": name, "secret": base64.b64encode(raw).decode()}


def test_lint_catches_the_classics(tmp_path: Path) -> None:
    doc = _doc(
        {"identity": {}},
        {"aescbc": {"keys": [_key("a", b"passwordpasswordpasswordpassword")]}},
        {"aesgcm": {"keys": [_key("b", bytes(range(16))), _key("c", b"passwordpasswordpasswordpassword")]}},
        {"kms": {"name": "old", "endpoint": "tcp://1.2.3.4:1"}},
    )
    doc["resources"].append({"resources": ["secrets", "configmaps"], "providers": [{"identity": {}}]})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o644)
    res = CliRunner().invoke(cli, ["lint", str(path), "--format", "json"])
    assert res.exit_code == 1
    found = {f["rule"] for f in json.loads(res.stdout)["findings"]}
    assert {"SRAR001", "SRAR003", "SRAR004", "SRAR005", "SRAR006", "SRAR007", "SRAR008", "SRAR009", "SRAR012"} <= found
    assert "cGFzc3dvcmQ" not in res.stdout and "password" not in res.stdout  # never quote a key
    sarif = json.loads(CliRunner().invoke(cli, ["lint", str(path), "--format", "sarif"]).stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_lint_uncovered_secrets_and_unparseable(tmp_path: Path) -> None:
    doc = _doc({"aesgcm": {"keys": [_key("k", bytes(range(7, 39)))]}})
    doc["resources"][0]["resources"] = ["configmaps"]
    assert "SRAR002" in {f.rule for f in lint_config(parse(doc))}
    bad = tmp_path / "x.yaml"
    bad.write_text(
        "kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: "
        "[{secretbox: {keys: [{name: k, secret: c2hvcnQ=}]}}]}]\n"
    )
    res = CliRunner().invoke(cli, ["lint", str(bad), "--format", "json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["findings"][0]["rule"] == "SRAR000"


@pytest.mark.parametrize(
    "doc, msg",
    [
        ({"kind": "Pod"}, "expected EncryptionConfiguration"),
        (_doc({"aesgcm": {"keys": [{"name": "k", "secret": "%%%"}]}}), "not valid base64"),
        (_doc({"rot13": {}}), "unknown provider"),
        (_doc({"aesgcm": {}, "identity": {}}), "exactly one provider"),
        (_doc({"kms": {"name": "x"}}), "kms needs name and endpoint"),
    ],
)
def test_config_errors_are_clear(doc: dict, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        parse(doc)


def _names(path: Path) -> list[str]:
    return [k.name for k in load(path).providers_for("secrets")[0].keys]


def test_rotation_walks_one_edit_per_step(tmp_path: Path) -> None:
    path = _gen(tmp_path, "aesgcm")
    run = CliRunner().invoke
    st = run(cli, ["rotate", "status", str(path), "--format", "json"])
    assert json.loads(st.stdout)["step"] == "idle"
    res = run(cli, ["rotate", "start", str(path), "--format", "json"])
    assert json.loads(res.stdout)["step"] == "added" and _names(path) == ["key1", "key2"]
    assert "restart" in json.loads(res.stdout)["next"]
    again = run(cli, ["rotate", "start", str(path)])
    assert again.exit_code == 1 and "in progress" in again.output
    assert json.loads(run(cli, ["rotate", "next", str(path), "--format", "json"]).stdout)["step"] == "promoted"
    assert _names(path) == ["key2", "key1"]
    blocked = run(cli, ["rotate", "next", str(path)])
    assert blocked.exit_code == 1 and "prove re-encryption" in blocked.output
    with pytest.raises(RotationError, match="3 stored values"):
        advance(path, remaining_old=3)
    assert load_state(path).step == "promoted"
    assert advance(path, remaining_old=0).step == "reencrypted"
    assert _names(path) == ["key2", "key1"]  # nothing dropped before the backup step
    done = run(cli, ["rotate", "next", str(path), "--format", "json"])
    assert json.loads(done.stdout)["step"] == "done" and _names(path) == ["key2"]
    assert "secret" not in (tmp_path / "aesgcm.yaml.rotation.json").read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_provider_switch_and_abort(tmp_path: Path) -> None:
    path = _gen(tmp_path, "aescbc")
    start(path, to="secretbox")
    kinds = [p.kind for p in load(path).providers_for("secrets")]
    assert kinds == ["aescbc", "secretbox", "identity"]
    res = CliRunner().invoke(cli, ["rotate", "abort", str(path), "--format", "json"])
    assert json.loads(res.stdout)["step"] == "idle"
    assert [p.kind for p in load(path).providers_for("secrets")] == ["aescbc", "identity"]
    start(path, to="kms")
    advance(path)
    advance(path, force=True)
    advance(path)
    kinds = [p.kind for p in load(path).providers_for("secrets")]
    assert kinds == ["kms", "identity"]


def test_rotation_refuses_a_hand_edited_file(tmp_path: Path) -> None:
    path = _gen(tmp_path, "secretbox")
    start(path)
    doc = yaml.safe_load(path.read_text())
    doc["resources"][0]["providers"][0]["secretbox"]["keys"].pop(1)
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(RotationError, match="no longer matches"):
        advance(path)


@pytest.mark.etcd
def test_rotate_next_verifies_with_a_real_etcd(etcd_server, tmp_path: Path) -> None:
    """promoted -> reencrypted only once etcd holds nothing under the old key."""
    from strongroom.atrest.etcd import EtcdClient

    path = _gen(tmp_path, "aesgcm")
    old = load(path).providers_for("secrets")[0].keys[0]
    start(path)
    advance(path)
    new = load(path).providers_for("secrets")[0].keys[0]
    c = EtcdClient(etcd_server.endpoint)
    prefix = f"/r{os.urandom(4).hex()}/registry/"
    key = prefix.encode() + b"secrets/rot/one"
    c.put(key, formats.seal_local("aesgcm", old, b"x", key))
    args = ["rotate", "next", str(path), "--etcd-endpoint", etcd_server.endpoint, "--etcd-prefix", prefix]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "still use the old key" in res.output
    c.put(key, formats.seal_local("aesgcm", new, b"x", key))
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert load_state(path).step == "reencrypted"
    c.close()


def test_gen_config_prints_a_key_only_when_asked() -> None:
    refused = CliRunner().invoke(cli, ["gen-config", "--provider", "secretbox"])
    assert refused.exit_code == 2 and "--stdout" in refused.output
    shown = CliRunner().invoke(cli, ["gen-config", "--provider", "secretbox", "--stdout"])
    assert shown.exit_code == 0 and parse(yaml.safe_load(shown.stdout)).providers_for("secrets")[0].kind == "secretbox"
    kms = CliRunner().invoke(cli, ["gen-config"])  # kms v2 has no key in the file: fine to print
    assert kms.exit_code == 0 and "apiVersion: v2" in kms.stdout
