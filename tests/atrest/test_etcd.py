"""audit-etcd and decrypt against a real etcd holding values in every provider's exact on-disk format."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strongroom.atrest import formats, k8sproto
from strongroom.atrest.config import Key
from strongroom.atrest.etcd import EtcdClient
from strongroom.cli.atrest import cli
from strongroom.kms.client import KMSClient
from strongroom.kms.server import PluginServer
from tests.atrest.conftest import VECTORS, b64

pytestmark = pytest.mark.etcd


@pytest.fixture
def loaded(etcd_server, plugin: PluginServer, short_dir: Path) -> tuple[str, str]:
    """A fresh prefix in the shared etcd: the vectors + a plaintext Secret + an unknown-key value + a real kms v2
    value written through the plugin. Returns (prefix, endpoint)."""
    prefix = f"/t{os.urandom(4).hex()}/registry/"
    c = EtcdClient(etcd_server.endpoint)
    for v in VECTORS:
        if v["provider"] == "kms":
            continue  # its encrypted seed is opaque test data; the live kms value below replaces it
        c.put(prefix.encode() + v["etcdKey"].removeprefix("/registry/").encode(), _rekey(v, prefix))
    c.put(f"{prefix}secrets/default/plain".encode(), k8sproto.encode_secret("plain", "default", {"a": b"b"}))
    orphan_key = f"{prefix}secrets/default/orphan".encode()
    c.put(orphan_key, formats.seal_local("aesgcm", Key("dropped", bytes(32)), b"x", orphan_key))
    kms_key = f"{prefix}secrets/kube-system/kms".encode()
    with KMSClient(f"unix://{plugin.path}") as k:
        seed = os.urandom(32)
        enc = k.encrypt(seed)
        c.put(
            kms_key,
            formats.seal_kms_v2(
                "vault-kms",
                seed,
                enc.ciphertext,
                enc.key_id,
                dict(enc.annotations),
                k8sproto.encode_secret("kms", "kube-system", {"t": b"v2"}),
                kms_key,
            ),
        )
    c.put(f"{prefix}configmaps/default/cm".encode(), b"k8s\x00not-a-secret")
    c.close()
    return prefix, etcd_server.endpoint


def _rekey(v: dict[str, str], prefix: str) -> bytes:
    """The vectors are bound (AAD) to /registry/...; re-seal the same plaintext under the test prefix for GCM."""
    if v["provider"] != "aesgcm":
        return b64(v["value"])
    key = (prefix + v["etcdKey"].removeprefix("/registry/")).encode()
    return formats.seal_local("aesgcm", Key(v["keyName"], b64(v["secret"])), b64(v["plaintext"]), key)


def test_scan_paginates_in_key_order(etcd_server) -> None:
    c = EtcdClient(etcd_server.endpoint)
    prefix = f"/p{os.urandom(4).hex()}/".encode()
    for i in range(25):
        c.put(prefix + f"{i:03d}".encode(), b"v")
    keys = [kv.key for kv in c.scan(prefix, page=7)]
    assert keys == [prefix + f"{i:03d}".encode() for i in range(25)] and c.count(prefix) == 25
    c.close()


def test_audit_reports_provider_key_and_staleness(loaded: tuple[str, str], config_file: Path) -> None:
    prefix, endpoint = loaded
    out = CliRunner().invoke(
        cli,
        [
            "audit-etcd",
            "--endpoints",
            endpoint,
            "--prefix",
            prefix,
            "--config",
            str(config_file),
            "--format",
            "json",
            "--objects",
            "--no-progress",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    by_name = {o["name"]: o for o in doc["objects"]}
    assert by_name["secretbox-32"]["status"] == "current" and by_name["secretbox-32"]["key_name"] == "key3"
    assert by_name["aesgcm-32"]["status"] == "stale" and by_name["aesgcm-32"]["provider"] == "aesgcm"
    assert by_name["aescbc-32"]["status"] == "stale"
    assert by_name["plain"]["status"] == "plaintext" and by_name["plain"]["namespace"] == "default"
    assert by_name["orphan"]["status"] == "unknown-key" and by_name["orphan"]["key_name"] == "dropped"
    assert by_name["kms"]["provider"] == "kms" and by_name["kms"]["key_id"].startswith("sr1:keyring/")
    assert doc["total"] == len(doc["objects"]) == 8
    assert doc["summary"][0]["status"] == "unknown-key"  # worst first
    text = CliRunner().invoke(
        cli,
        [
            "audit-etcd",
            "--endpoints",
            endpoint,
            "--prefix",
            prefix,
            "--config",
            str(config_file),
            "--fail-on",
            "plaintext",
            "--no-progress",
        ],
    )
    assert text.exit_code == 1 and "unknown-key" in text.stdout
    for v in VECTORS:
        assert v.get("secret", "@@") not in text.stdout + out.stdout  # never a key


def test_audit_without_config_only_reports_encryption(loaded: tuple[str, str]) -> None:
    prefix, endpoint = loaded
    out = CliRunner().invoke(
        cli,
        [
            "audit-etcd",
            "--endpoints",
            f"http://127.0.0.1:1,{endpoint}",
            "--prefix",
            prefix,
            "--format",
            "json",
            "--no-progress",
        ],
    )
    assert out.exit_code == 0, out.output
    statuses = {r["status"] for r in json.loads(out.stdout)["summary"]}
    assert statuses == {"encrypted", "plaintext"}


def test_decrypt_live_recovers_every_provider(loaded: tuple[str, str], config_file: Path, tmp_path: Path) -> None:
    prefix, endpoint = loaded
    out = CliRunner().invoke(
        cli,
        [
            "decrypt",
            "--endpoints",
            endpoint,
            "--prefix",
            f"{prefix}secrets/",
            "--config",
            str(config_file),
            "--out-dir",
            str(tmp_path / "dr"),
            "--no-progress",
        ],
    )
    assert out.exit_code == 1  # the orphan (dropped key) cannot be recovered; everything else is
    files = {p.name: json.loads(p.read_text()) for p in (tmp_path / "dr").iterdir()}
    assert all((tmp_path / "dr" / n).stat().st_mode & 0o777 == 0o600 for n in files)
    recovered = {d["object"]["metadata"]["name"]: d for d in files.values() if "object" in d}
    assert set(recovered) == {"aesgcm-32", "aesgcm-16", "aescbc-32", "secretbox-32", "plain", "kms"}
    assert recovered["kms"]["provider"] == "kms"
    assert b64(recovered["kms"]["object"]["data"]["t"]) == b"v2"
    assert b64(recovered["aescbc-32"]["object"]["data"]["password"]) == b"hunter2"
    errors = [d for d in files.values() if "error" in d]
    assert len(errors) == 1 and "dropped" in errors[0]["error"] and errors[0]["key"].endswith("orphan")


def test_decrypt_from_snapshot_and_dump(loaded: tuple[str, str], config_file: Path, short_dir: Path) -> None:
    prefix, endpoint = loaded
    snap = short_dir / "snap.db"
    subprocess.run(
        ["etcdctl", "--endpoints", endpoint, "snapshot", "save", str(snap)],
        check=True,
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    out = CliRunner().invoke(
        cli,
        [
            "decrypt",
            "--snapshot",
            str(snap),
            "--prefix",
            f"{prefix}secrets/default/plain",
            "--config",
            str(config_file),
            "--stdout",
            "--no-progress",
        ],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.splitlines()[0])["object"]["metadata"]["name"] == "plain"
    dump = short_dir / "dump.json"
    dump.write_bytes(
        subprocess.run(
            ["etcdctl", "--endpoints", endpoint, "get", "--prefix", f"{prefix}secrets/ns3", "-w", "json"],
            check=True,
            capture_output=True,
            env={**os.environ, "ETCDCTL_API": "3"},
        ).stdout
    )
    out = CliRunner().invoke(
        cli,
        ["decrypt", "--dump", str(dump), "--prefix", prefix, "--config", str(config_file), "--stdout", "--no-progress"],
    )
    assert out.exit_code == 0, out.output
    rec = json.loads(out.stdout.splitlines()[0])
    assert rec["provider"] == "secretbox" and rec["object"]["metadata"]["name"] == "secretbox-32"


def test_decrypt_refuses_to_print_without_asking(config_file: Path) -> None:
    out = CliRunner().invoke(cli, ["decrypt", "--config", str(config_file)])
    assert out.exit_code == 2 and "--out-dir" in out.output


def test_unreachable_etcd_is_a_clear_error(config_file: Path) -> None:
    out = CliRunner().invoke(cli, ["audit-etcd", "--endpoints", "http://127.0.0.1:1", "--no-progress"])
    assert out.exit_code == 1 and "no etcd endpoint answered" in out.output


def test_kms_values_go_stale_when_the_kek_rotates(loaded: tuple[str, str], config_file: Path, short_dir: Path) -> None:
    from strongroom.kms import keyring as kr

    prefix, endpoint = loaded
    args = [
        "audit-etcd",
        "--endpoints",
        endpoint,
        "--prefix",
        f"{prefix}secrets/kube-system/",
        "--config",
        str(config_file),
        "--format",
        "json",
        "--objects",
        "--no-progress",
    ]
    before = json.loads(CliRunner().invoke(cli, args).stdout)
    kms_obj = next(o for o in before["objects"] if o["name"] == "kms")
    assert kms_obj["status"] == "stale"  # kms is not the write provider in this config (secretbox is)
    cfg = yaml.safe_load(config_file.read_text())
    provs = cfg["resources"][0]["providers"]
    provs.insert(0, provs.pop(3))  # make kms v2 the write provider
    config_file.write_text(yaml.safe_dump(cfg))
    now = json.loads(CliRunner().invoke(cli, args).stdout)
    assert next(o for o in now["objects"] if o["name"] == "kms")["status"] == "current"
    assert now["current_key_ids"]["vault-kms"] == kms_obj["key_id"]
    kr.rotate(short_dir / "ring.json")
    after = json.loads(CliRunner().invoke(cli, args).stdout)
    assert next(o for o in after["objects"] if o["name"] == "kms")["status"] == "stale"
    assert after["current_key_ids"]["vault-kms"] != kms_obj["key_id"]
