"""The vault provider over HTTPS: `caBundle` verifies a Strongroom TLS listener; without it the store is not
valid (certificate verification is never skipped)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from tests.api.test_listener_and_storage import _start, _write_cert
from tests.externalsecret.harness import ESO, b64, es_obj, eventually, start, store_obj, unb64
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_ca_bundle(fake: FakeKube) -> None:
    d = tempfile.mkdtemp(prefix="es-tls-")
    cert, key = _write_cert(d)
    server = _start(f'storage "sqlite" {{\n  path = "{d}/db"\n}}', d, tls=(cert, key))
    try:
        client = hvac.Client(url=server.addr, verify=cert)
        init = client.sys.initialize(1, 1)
        client.sys.submit_unseal_key(init["keys"][0])
        client.token = init["root_token"]
        client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        client.secrets.kv.v2.create_or_update_secret("tls", secret={"v": "over-tls"}, mount_point="secret")
        ca = base64.b64encode(Path(cert).read_bytes()).decode()

        async def scenario() -> None:
            op = await start(fake)
            try:
                fake.put("secrets", {"metadata": {"name": "t", "namespace": "app"},
                                     "data": {"token": b64(init["root_token"])}})
                auth = {"tokenSecretRef": {"name": "t", "key": "token"}}
                fake.put("secretstores", store_obj(provider={"vault": {"server": server.addr, "path": "secret",
                                                                       "caBundle": ca, "auth": auth}}), group=ESO)
                fake.put("secretstores", store_obj("no-ca", provider={"vault": {"server": server.addr,
                                                                                "path": "secret", "auth": auth}}),
                         group=ESO)
                fake.put("externalsecrets", es_obj(data=[{"secretKey": "v", "remoteRef": {"key": "tls",
                                                                                          "property": "v"}}]),
                         group=ESO)
                secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret over TLS")
                assert unb64(secret["data"]["v"]) == "over-tls"
                status = await eventually(lambda: (fake.get("secretstores", "no-ca", "app", group=ESO) or {}).get(
                    "status"), what="no-ca status")
                assert status["conditions"][0]["reason"] == "ValidationFailed"
                assert init["root_token"] not in status["conditions"][0]["message"]
            finally:
                await op.stop()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize(("bundle", "why"), [("%%%not base64%%%", "not base64"),
                                              (b64("-----BEGIN CERTIFICATE-----\nxx\n"), "not a PEM")])
def test_bad_ca_bundle_is_a_config_error(fake: FakeKube, bundle: str, why: str) -> None:
    async def scenario() -> Any:
        op = await start(fake)
        try:
            fake.put("secretstores", store_obj(provider={"vault": {"server": "https://127.0.0.1:1", "path": "s",
                                                                   "caBundle": bundle,
                                                                   "auth": {"tokenSecretRef": {"name": "t"}}}}),
                     group=ESO)
            status = await eventually(lambda: (fake.get("secretstores", "store", "app", group=ESO) or {}).get(
                "status"), what="status")
            return status["conditions"][0]
        finally:
            await op.stop()

    cond = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert cond["reason"] == "InvalidProviderConfig" and why in cond["message"]
