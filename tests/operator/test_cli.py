"""`strongroom operator`: key list/rotate/backup/restore and `run` as a real process, against the fake API."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_keys_rotate_list_backup_restore(fake: FakeKube, tmp_path: Path) -> None:
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    base = ["--kubeconfig", kc, "-n", "kube-system"]
    for _ in range(2):
        code, out = _invoke("operator", "keys", "rotate", *base, "--key-size", "2048", "--format", "json")
        assert code == 0, out
    code, out = _invoke("operator", "keys", "list", *base, "--format", "json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 2 and listed[0]["fingerprint"].startswith("SHA256:")
    backup = tmp_path / "keys.yaml"
    code, out = _invoke("operator", "keys", "backup", *base, "-o", str(backup), "--format", "json")
    assert code == 0 and "PRIVATE KEY" not in out and "tls.key" not in out
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # restore into a fresh namespace: dry run first, then for real, then idempotent
    target = ["--kubeconfig", kc, "-n", "restored"]
    code, out = _invoke("operator", "keys", "restore", *target, "-f", str(backup), "--dry-run", "--format", "json")
    assert code == 0 and {r["action"] for r in json.loads(out)} == {"would-create"}
    assert fake.objects("secrets", "restored") == []
    code, out = _invoke("operator", "keys", "restore", *target, "-f", str(backup), "--format", "json")
    assert code == 0 and {r["action"] for r in json.loads(out)} == {"created"}
    code, out = _invoke("operator", "keys", "restore", *target, "-f", str(backup), "--format", "json")
    assert code == 0 and {r["action"] for r in json.loads(out)} == {"exists"}
    restored = {r["fingerprint"] for r in json.loads(out)}
    assert restored == {r["fingerprint"] for r in listed}


def test_restore_rejects_bad_input_and_writes_nothing(fake: FakeKube, tmp_path: Path) -> None:
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: k}\n"
                   "  data: {tls.key: bm90IGEga2V5, tls.crt: bm9wZQ==}\n")
    code, out = _invoke("operator", "keys", "restore", "--kubeconfig", kc, "-n", "x", "-f", str(bad))
    assert code == 1 and "not a usable RSA key pair" in out
    assert fake.objects("secrets", "x") == []
    code, out = _invoke("operator", "keys", "backup", "--kubeconfig", kc, "-n", "empty", "-o",
                        str(tmp_path / "none.yaml"))
    assert code == 1 and "no sealing keys" in out and not (tmp_path / "none.yaml").exists()


def test_run_as_a_process_until_sigterm(fake: FakeKube, tmp_path: Path) -> None:
    kc = fake.write_kubeconfig(tmp_path / "kubeconfig")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from strongroom.cli.main import main; main()", "operator", "run",
         "--kubeconfig", str(kc), "--namespace", "kube-system", "--key-size", "2048", "--listen-addr", "127.0.0.1:0",
         "--health-addr", "127.0.0.1:0", "--no-leader-elect"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not fake.objects("secrets", "kube-system"):
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "no key generated"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "PRIVATE KEY" not in out and "stopped" in out


def test_help_and_bad_options() -> None:
    code, out = _invoke("operator", "run", "--help")
    assert code == 0 and "--key-renew-period" in out
    result = CliRunner().invoke(cli, ["operator", "run", "--key-renew-period", "soon"])
    assert result.exit_code == 2 and "not a duration" in result.output
