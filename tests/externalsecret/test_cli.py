"""`strongroom operator run --controllers externalsecret,reloader` as a real process against the fake API and a
real Strongroom server, until SIGTERM."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from tests.externalsecret.harness import ESO, b64, es_obj, store_obj
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        server.register(ESO, "v1", "ClusterExternalSecret", "clusterexternalsecrets", namespaced=False)
        server.register(ESO, "v1alpha1", "PushSecret", "pushsecrets")
        yield server


def test_run_syncs_from_strongroom_until_sigterm(fake: FakeKube, dev_server: Any, tmp_path: Path) -> None:
    hvac.Client(url=dev_server.addr, token="root").secrets.kv.v2.create_or_update_secret(
        "cli-test", secret={"pw": "from-cli"}, mount_point="secret")
    fake.put("secrets", {"metadata": {"name": "t", "namespace": "app"}, "data": {"token": b64("root")}})
    fake.put("secretstores", store_obj(provider={"vault": {"server": dev_server.addr, "path": "secret", "auth": {
        "tokenSecretRef": {"name": "t", "key": "token"}}}}), group=ESO)
    fake.put("externalsecrets", es_obj(data=[{"secretKey": "pw", "remoteRef": {"key": "cli-test",
                                                                               "property": "pw"}}]), group=ESO)
    kc = fake.write_kubeconfig(tmp_path / "kubeconfig")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from strongroom.cli.main import main; main()", "operator", "run",
         "--kubeconfig", str(kc), "--namespace", "kube-system", "--controllers", "externalsecret,reloader",
         "--health-addr", "127.0.0.1:0", "--no-leader-elect"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not fake.get("secrets", "es", "app"):
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "no Secret synced"
            time.sleep(0.1)
        assert base64.b64decode(fake.get("secrets", "es", "app")["data"]["pw"]) == b"from-cli"
        assert not fake.objects("secrets", "kube-system")  # the SealedSecret controller was not started
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "from-cli" not in out and "stopped" in out


def test_unknown_controller_is_rejected() -> None:
    result = CliRunner().invoke(cli, ["operator", "run", "--controllers", "externalsecret,nope"])
    assert result.exit_code == 2 and "unknown controller(s): nope" in result.output
