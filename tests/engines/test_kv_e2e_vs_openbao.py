"""End to end through the real servers: the same hvac calls and `bao` CLI sessions against a Strongroom dev
server and an OpenBao dev server, compared with timestamps, ports and request ids masked."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import hvac
import pytest

from tests.harness import Server, run_cli

pytestmark = [pytest.mark.bao, pytest.mark.slow]

TS = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _norm(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    text = re.sub(r"http://127\.0\.0\.1:\d+", "URL", text)
    return UUID.sub("<uuid>", TS.sub("<ts>", text))


def hvac_session(server: Server, v2: str, v1: str) -> list[str]:
    c = hvac.Client(url=server.addr, token=server.root_token)
    c.sys.enable_secrets_engine("kv", path=v2, options={"version": "2"})
    c.sys.enable_secrets_engine("kv", path=v1, options={"version": "1"})
    kv, kv1 = c.secrets.kv.v2, c.secrets.kv.v1
    out: list[str] = []

    def step(fn: Callable[[], Any]) -> None:
        try:
            r = fn()
            out.append(_norm(r.get("data") if isinstance(r, dict) else getattr(r, "status_code", r)))
        except hvac.exceptions.VaultError as exc:
            out.append(_norm([type(exc).__name__, exc.errors]))

    step(lambda: kv.configure(max_versions=5, mount_point=v2))
    step(lambda: kv.read_configuration(mount_point=v2))
    step(lambda: kv.create_or_update_secret("app/db", {"u": "a"}, mount_point=v2))
    step(lambda: kv.create_or_update_secret("app/db", {"u": "b"}, cas=1, mount_point=v2))
    step(lambda: kv.create_or_update_secret("app/db", {"u": "c"}, cas=1, mount_point=v2))
    step(lambda: kv.patch("app/db", {"p": 1}, mount_point=v2))
    step(lambda: kv.read_secret_version("app/db", mount_point=v2, raise_on_deleted_version=True))
    step(lambda: kv.read_secret_version("app/db", version=1, mount_point=v2, raise_on_deleted_version=True))
    step(lambda: kv.list_secrets("app", mount_point=v2))
    step(lambda: kv.list_secrets("", mount_point=v2))
    step(lambda: kv.read_secret_metadata("app/db", mount_point=v2))
    step(lambda: kv.update_metadata("app/db", max_versions=3, custom_metadata={"o": "x"}, mount_point=v2))
    step(lambda: c.adapter.get(f"/v1/{v2}/subkeys/app/db", params={"depth": 1}))
    step(lambda: kv.delete_latest_version_of_secret("app/db", mount_point=v2))
    step(lambda: kv.read_secret_version("app/db", mount_point=v2, raise_on_deleted_version=False))
    step(lambda: kv.undelete_secret_versions("app/db", versions=[3], mount_point=v2))
    step(lambda: kv.delete_secret_versions("app/db", versions=[1], mount_point=v2))
    step(lambda: kv.destroy_secret_versions("app/db", versions=[2], mount_point=v2))
    step(lambda: kv.read_secret_version("app/db", version=2, mount_point=v2, raise_on_deleted_version=False))
    step(lambda: kv.delete_metadata_and_all_versions("app/db", mount_point=v2))
    step(lambda: kv.read_secret_version("app/db", mount_point=v2, raise_on_deleted_version=True))
    step(lambda: kv1.create_or_update_secret("a/b", {"x": 1}, mount_point=v1))
    step(lambda: kv1.read_secret("a/b", mount_point=v1))
    step(lambda: kv1.list_secrets("a", mount_point=v1))
    step(lambda: kv1.delete_secret("a/b", mount_point=v1))
    step(lambda: kv1.read_secret("a/b", mount_point=v1))
    return out


def cli_session(server: Server, v2: str, v1: str) -> list[str]:
    cmds = [
        ["secrets", "enable", f"-path={v2}", "-version=2", "kv"],
        ["kv", "put", f"-mount={v2}", "app/db", "user=u", "pw=p"],
        ["kv", "put", f"-mount={v2}", "-cas=1", "app/db", "user=v"],
        ["kv", "put", f"-mount={v2}", "-cas=1", "app/db", "user=w"],
        ["kv", "patch", f"-mount={v2}", "app/db", "extra=1"],
        ["kv", "patch", f"-mount={v2}", "-method=rw", "app/db", "extra=2"],
        ["kv", "get", f"-mount={v2}", "-format=json", "-field=user", "app/db"],
        ["kv", "get", f"-mount={v2}", "-version=1", "-field=pw", "app/db"],
        ["kv", "list", f"-mount={v2}", "app"],
        ["kv", "metadata", "put", f"-mount={v2}", "-max-versions=3", "-custom-metadata=owner=me", "app/db"],
        ["kv", "metadata", "get", f"-mount={v2}", "-format=json", "app/db"],
        ["kv", "delete", f"-mount={v2}", "app/db"],
        ["kv", "get", f"-mount={v2}", "app/db"],
        ["kv", "undelete", f"-mount={v2}", "-versions=4", "app/db"],
        ["kv", "destroy", f"-mount={v2}", "-versions=1", "app/db"],
        ["kv", "rollback", f"-mount={v2}", "-version=2", "app/db"],
        ["kv", "get", f"-mount={v2}", "-field=user", "app/db"],
        ["kv", "metadata", "delete", f"-mount={v2}", "app/db"],
        ["kv", "get", f"-mount={v2}", "app/db"],
        ["secrets", "enable", f"-path={v1}", "-version=1", "kv"],
        ["kv", "put", f"{v1}/x", "a=1"],
        ["kv", "enable-versioning", f"{v1}/"],
        ["kv", "get", "-field=a", f"{v1}/x"],
        ["write", "cubbyhole/k", "v=1"],
        ["read", "-field=v", "cubbyhole/k"],
    ]
    out = []
    for cmd in cmds:
        p = run_cli(server, *cmd, check=False)
        out.append(_norm([p.returncode, p.stdout.strip(), p.stderr.strip()]))
    return out


def _diff(ours: list[str], theirs: list[str]) -> list[str]:
    return [f"step {i}:\n  ours: {o}\n  bao:  {t}" for i, (o, t) in enumerate(zip(ours, theirs, strict=True))
            if o != t]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # hvac's own notice about raise_on_deleted_version
def test_hvac_sees_openbao(dev_server: Server, bao_server: Server) -> None:
    v2, v1 = f"h{uuid.uuid4().hex[:8]}", f"h{uuid.uuid4().hex[:8]}"
    assert _diff(hvac_session(dev_server, v2, v1), hvac_session(bao_server, v2, v1)) == []


def test_bao_cli_sees_openbao(dev_server: Server, bao_server: Server) -> None:
    v2, v1 = f"c{uuid.uuid4().hex[:8]}", f"c{uuid.uuid4().hex[:8]}"
    assert _diff(cli_session(dev_server, v2, v1), cli_session(bao_server, v2, v1)) == []
