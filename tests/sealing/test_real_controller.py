"""`strongroom seal`'s network paths (--controller-url sealing, --fetch-cert, --validate, --re-encrypt) against
the REAL controller's HTTP API (strongroom.operator.sealedsecret.api on the runtime, keys in the fake API
server), not the stub."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.operator.sealedsecret.api import RateLimiter
from strongroom.sealing import load_manifests, unseal_sealed_secret
from tests.fakekube import FakeKube
from tests.operator.harness import Operator, eventually, start_operator

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "app"},
          "data": {"password": base64.b64encode(b"hunter2").decode()}}


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


async def _seal(*args: str, stdin: str | None = None) -> Any:
    def invoke() -> Any:
        return CliRunner().invoke(cli, ["seal", *args], input=stdin, catch_exceptions=False)

    return await asyncio.to_thread(invoke)


def test_seal_cli_against_the_real_controller(fake: FakeKube, tmp_path: Path) -> None:
    async def scenario() -> None:
        op: Operator = await start_operator(fake)
        try:
            op.app.api.limiter = RateLimiter(rate=1000.0, burst=1000)  # many calls below; limit tested apart
            url = op.api_url
            r = await _seal("--fetch-cert", "--controller-url", url)
            assert r.exit_code == 0 and r.stdout.encode() == await op.cert()

            # seal with the controller's certificate, fetched over HTTP; the controller unseals it
            r = await _seal("--controller-url", url, "-o", "yaml", stdin=json.dumps(SECRET))
            assert r.exit_code == 0, r.output
            sealed_file = tmp_path / "db-sealed.yaml"
            sealed_file.write_text(r.stdout)
            [sealed] = load_manifests(r.stdout.encode())
            fake.put("sealedsecrets", sealed, group="bitnami.com")
            secret = await eventually(lambda: fake.get("secrets", "db", "app"), what="Secret")
            assert base64.b64decode(secret["data"]["password"]) == b"hunter2"

            r = await _seal("--validate", "--controller-url", url, "-f", str(sealed_file))
            assert r.exit_code == 0, r.output
            moved = tmp_path / "moved.yaml"
            moved.write_text(sealed_file.read_text().replace("namespace: app", "namespace: other"))
            r = await _seal("--validate", "--controller-url", url, "-f", str(moved))
            assert r.exit_code == 1 and "unable to decrypt sealed secret: db" in r.output

            # a new key: --re-encrypt rewrites the file in place so it opens with the newest key alone
            await op.app.rotate()
            newest = op.app.registry.keys[0].private_key
            with pytest.raises(Exception):  # noqa: B017 - any unseal error: the old key sealed it
                unseal_sealed_secret(sealed, [newest])
            r = await _seal("--re-encrypt", "--controller-url", url, "-f", str(sealed_file))
            assert r.exit_code == 0, r.output
            [rotated] = load_manifests(sealed_file.read_bytes())
            opened = unseal_sealed_secret(rotated, [newest])
            assert base64.b64decode(opened["data"]["password"]) == b"hunter2"
            assert rotated["metadata"]["name"] == "db" and rotated["metadata"]["namespace"] == "app"
            r = await _seal("--validate", "--controller-url", url, "-f", str(sealed_file))
            assert r.exit_code == 0, r.output
            # --fetch-cert now returns the new certificate
            r = await _seal("--fetch-cert", "--controller-url", url)
            assert r.stdout.encode() == op.app.registry.keys[0].certificate_pem

            # not a SealedSecret: refused locally, the controller is never asked
            r = await _seal("--validate", "--controller-url", url, stdin=json.dumps(SECRET))
            assert r.exit_code == 1 and "expected bitnami.com/v1alpha1 SealedSecrets" in r.output

            # over the controller's real rate limit: a clear error naming the status, the file untouched
            op.app.api.limiter = RateLimiter(rate=0.001, burst=1)
            first = await _seal("--re-encrypt", "--controller-url", url, "-f", str(sealed_file))
            assert first.exit_code == 0
            after_first = sealed_file.read_bytes()
            second = await _seal("--re-encrypt", "--controller-url", url, "-f", str(sealed_file))
            assert second.exit_code == 1 and "HTTP 429" in second.output
            assert sealed_file.read_bytes() == after_first
        finally:
            await op.stop()
        # controller gone: a clear error, not a traceback
        r = await _seal("--fetch-cert", "--controller-url", url, "--timeout", "2")
        assert r.exit_code == 1 and "Error:" in r.output

    asyncio.run(asyncio.wait_for(scenario(), 90))
