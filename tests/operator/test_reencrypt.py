"""`strongroom seal reencrypt --in-cluster` against the fake API server with the real controller running."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.operator.kube import Kube, kinds
from strongroom.operator.sealedsecret import KeyRegistry
from strongroom.operator.sealedsecret.reencrypt import _one, reencrypt_in_cluster
from strongroom.sealing import Scope, load_recipient, seal_secret, unseal_sealed_secret
from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, Operator, eventually, start_operator

G = "bitnami.com"


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _secret(name: str, ns: str, password: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "data": {"password": base64.b64encode(password.encode()).decode(),
                     "user": base64.b64encode(b"app").decode()}}


async def _seal(op: Operator, name: str, ns: str, password: str, scope: Scope | None = None) -> dict[str, Any]:
    return seal_secret(_secret(name, ns, password), load_recipient(await op.cert()), scope)


async def _cli(*args: str) -> tuple[int, str]:
    def invoke() -> tuple[int, str]:
        r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return r.exit_code, r.stdout

    return await asyncio.to_thread(invoke)


def _plain(fake: FakeKube, name: str, ns: str) -> bytes | None:
    s = fake.get("secrets", name, ns)
    return base64.b64decode(s["data"]["password"]) if s and "password" in s.get("data", {}) else None


def test_reencrypt_in_cluster_rewrites_only_stale_objects(fake: FakeKube, tmp_path: Path) -> None:
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))

    async def scenario() -> None:
        op = await start_operator(fake)
        try:
            old1 = await _seal(op, "db", "app", "pw-db")
            old1["spec"]["template"]["data"] = {"url": "postgres://{{ .user }}:{{ .password }}@db"}
            old2 = await _seal(op, "api", "other", "pw-api", Scope.CLUSTER_WIDE)
            bad = await _seal(op, "broken", "app", "pw-x")
            bad["metadata"]["name"] = "renamed"  # strict scope: no key opens it any more
            for obj in (old1, old2, bad):
                fake.put("sealedsecrets", obj, group=G)
            await op.app.rotate()
            fresh = await _seal(op, "new", "app", "pw-new")
            fake.put("sealedsecrets", fresh, group=G)
            for name, ns in (("db", "app"), ("api", "other"), ("new", "app")):
                await eventually(lambda n=name, s=ns: _plain(fake, n, s), what=name)
            newest, oldest = op.app.registry.keys[0], op.app.registry.keys[1]
            base = ["seal", "reencrypt", "--in-cluster", "--kubeconfig", kc, "--controller-namespace", CTRL_NS,
                    "-o", "json"]

            # without --in-cluster: a usage error, nothing written
            code, _ = await _cli("seal", "reencrypt", "--kubeconfig", kc)
            assert code == 2

            writes = sum(1 for m, p in fake.requests if m == "PUT" and "sealedsecrets" in p)
            code, out = await _cli(*base, "--dry-run")
            dry = json.loads(out)
            assert code == 1  # the broken object
            assert dry["dry_run"] and dry["newest_key"] == newest.secret_name
            assert dry["counts"] == {"would-reencrypt": 2, "up-to-date": 1, "failed": 1}
            assert dry["sealed_by_before"] == {oldest.secret_name: 2, newest.secret_name: 1}
            assert sum(1 for m, p in fake.requests if m == "PUT" and "sealedsecrets" in p) == writes
            failed = next(o for o in dry["objects"] if o["action"] == "failed")
            assert failed["name"] == "renamed" and "password" in failed["error"] and "pw-x" not in out

            # -n limits the run to one namespace
            code, out = await _cli(*base, "-n", "other")
            result = json.loads(out)
            assert code == 0 and result["counts"] == {"reencrypted": 1}

            code, out = await _cli(*base)
            result = json.loads(out)
            assert code == 1 and result["counts"] == {"reencrypted": 1, "up-to-date": 2, "failed": 1}

            # every object that opened before now opens with the newest key alone; template and scope kept
            for name, ns in (("db", "app"), ("api", "other"), ("new", "app")):
                stored = fake.get("sealedsecrets", name, ns, group=G)
                opened = unseal_sealed_secret(stored, [newest.private_key])
                assert base64.b64decode(opened["data"]["password"]).decode() == f"pw-{name}"
            db = fake.get("sealedsecrets", "db", "app", group=G)
            assert db["spec"]["template"]["data"] == {"url": "postgres://{{ .user }}:{{ .password }}@db"}
            api = fake.get("sealedsecrets", "api", "other", group=G)
            assert api["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] == "true"
            assert fake.get("sealedsecrets", "renamed", "app", group=G)["spec"] == bad["spec"]  # untouched

            # the controller keeps the Secrets (same values) and is Synced on the new generation
            async def synced(name: str, ns: str) -> bool:
                ss = fake.get("sealedsecrets", name, ns, group=G) or {}
                st = ss.get("status") or {}
                return st.get("observedGeneration") == ss["metadata"].get("generation") and bool(
                    st.get("conditions")) and st["conditions"][0]["status"] == "True"

            for name, ns in (("db", "app"), ("api", "other")):
                await eventually(lambda n=name, s=ns: synced(n, s), what=f"{name} synced")
                assert _plain(fake, name, ns) == f"pw-{name}".encode()
            url = base64.b64decode(fake.get("secrets", "db", "app")["data"]["url"])
            assert url == b"postgres://app:pw-db@db"
            # now the old key seals nothing: a second run has nothing to do
            code, out = await _cli(*base, "-n", "other")
            assert code == 0 and json.loads(out)["counts"] == {"up-to-date": 1}
            assert json.loads(out)["sealed_by_before"] == {newest.secret_name: 1}
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_reencrypt_retries_a_stale_resource_version(fake: FakeKube) -> None:
    async def scenario() -> None:
        op = await start_operator(fake, wait_keys=True)
        try:
            fake.put("sealedsecrets", await _seal(op, "db", "app", "pw-db"), group=G)
            await op.app.rotate()
            async with Kube(fake.config(CTRL_NS)) as kube:
                reg = KeyRegistry(kube, CTRL_NS)
                await reg.load()
                stale = copy.deepcopy(await kube.get(kinds.SEALED_SECRET, "db", "app"))
                # someone else changes the object after we read it: our PUT gets a real 409
                await kube.merge_patch(kinds.SEALED_SECRET, "db", {"metadata": {"labels": {"team": "b"}}}, "app")
                result = await _one(kube, stale, reg.keys, False)
                assert result.action == "reencrypted" and result.conflicts == 1
                now = await kube.get(kinds.SEALED_SECRET, "db", "app")
                assert now["metadata"]["labels"] == {"team": "b"}  # the other writer's change survives
                unseal_sealed_secret(now, [reg.keys[0].private_key])
                # injected conflicts on every try: gives up with a clear error, object untouched
                fake.put("sealedsecrets", await _seal(op, "db2", "app", "pw"), group=G)
                old_reg_keys = reg.keys
                await op.app.rotate()
                await reg.load()
                assert reg.keys != old_reg_keys
                fake.fail_next(10, 409, method="PUT",
                               path="/apis/bitnami.com/v1alpha1/namespaces/app/sealedsecrets/db2")
                summary = await reencrypt_in_cluster(kube, reg.keys, namespace="app")
                by_name = {r.name: r for r in summary.objects}
                assert by_name["db2"].action == "failed" and "conflicting" in by_name["db2"].error
                assert by_name["db"].action == "reencrypted"
                fake.faults.clear()
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_reencrypt_with_no_keys_is_a_clear_error(fake: FakeKube, tmp_path: Path) -> None:
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    r = CliRunner().invoke(cli, ["seal", "reencrypt", "--in-cluster", "--kubeconfig", kc])
    assert r.exit_code == 1 and "no sealing keys" in r.output
