"""auth.kubernetes of the vault provider against a real Strongroom server whose Kubernetes auth method verifies
the service-account JWT with TokenReview (tests/auth/kubeapi.py)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from strongroom.operator.externalsecret.providers.vault import VaultProvider
from tests.auth import kubeapi
from tests.externalsecret.harness import ESO, es_obj, eventually, start, store_obj, unb64
from tests.fakekube import FakeKube


@pytest.fixture
def kube() -> Iterator[kubeapi.KubeAPI]:
    api = kubeapi.start()
    yield api
    api.close()


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_kubernetes_auth_with_secret_ref(fake: FakeKube, fresh_server: Any, kube: kubeapi.KubeAPI) -> None:
    root = hvac.Client(url=fresh_server.addr, token="root")
    root.sys.enable_auth_method("kubernetes")
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt)
    root.sys.create_or_update_policy("eso", 'path "secret/*" { capabilities = ["read"] }')
    kube.cluster.add_sa("app", "eso")
    root.auth.kubernetes.create_role("eso", ["eso"], ["app"], policies=["eso"])
    root.secrets.kv.v2.create_or_update_secret("k8s-auth", secret={"v": "via-k8s"}, mount_point="secret")
    jwt = kube.cluster.token("app", "eso")

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "sa-token", "namespace": "app"},
                                 "data": {"token": base64.b64encode(jwt.encode()).decode()}})
            fake.put("secretstores", store_obj(provider={"vault": {
                "server": fresh_server.addr, "path": "secret", "version": "v2",
                "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "eso",
                                        "secretRef": {"name": "sa-token", "key": "token"}}}}}), group=ESO)
            fake.put("externalsecrets", es_obj(data=[{"secretKey": "v", "remoteRef": {"key": "k8s-auth",
                                                                                      "property": "v"}}]), group=ESO)
            secret = await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            assert unb64(secret["data"]["v"]) == "via-k8s"
            provider = op.app.stores.cached(("SecretStore", "app", "store"))
            assert isinstance(provider, VaultProvider) and provider.logins == 1
            token = provider.client.token
            assert root.lookup_token(token)["data"]["meta"]["service_account_name"] == "eso"
        finally:
            await op.stop()
        with pytest.raises(hvac.exceptions.Forbidden):
            root.lookup_token(token)  # the token we logged in for is revoked on shutdown

    asyncio.run(asyncio.wait_for(scenario(), 60))
