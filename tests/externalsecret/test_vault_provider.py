"""The vault provider against a REAL Strongroom server (data written with hvac), through the controller."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from strongroom.operator.externalsecret.providers.vault import VaultProvider
from tests.externalsecret.harness import ESO, b64, es_obj, eventually, ready, start, store_obj, unb64
from tests.fakekube import FakeKube


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


def _hvac(server: Any) -> hvac.Client:
    return hvac.Client(url=server.addr, token=server.root_token)


def _approle(client: hvac.Client, name: str, policy: str) -> tuple[str, str]:
    if "approle/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("approle")
    client.sys.create_or_update_policy(name, policy)
    client.auth.approle.create_or_update_approle(name, token_policies=[name], token_ttl="1h")
    role_id = client.auth.approle.read_role_id(name)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id(name)["data"]["secret_id"]
    return role_id, secret_id


def _vault_store(server: Any, auth: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return store_obj(provider={"vault": {"server": server.addr, "path": "secret", "version": "v2", "auth": auth,
                                         **extra}})


def test_kv2_approle_one_login_many_secrets(fake: FakeKube, dev_server: Any) -> None:
    client = _hvac(dev_server)
    base = f"es-{uuid.uuid4().hex[:8]}"
    client.secrets.kv.v2.create_or_update_secret(f"{base}/db", secret={"user": "app", "password": "pw1",
                                                                       "cfg": {"port": 5432}}, mount_point="secret")
    client.secrets.kv.v2.create_or_update_secret(f"{base}/db", secret={"user": "app", "password": "pw2",
                                                                       "cfg": {"port": 5432}}, mount_point="secret")
    client.secrets.kv.v2.create_or_update_secret(f"{base}/api", secret={"key": "k1"}, mount_point="secret")
    role_id, secret_id = _approle(client, base, 'path "secret/*" { capabilities = ["read", "list"] }')

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "approle", "namespace": "app"}, "data": {"sid": b64(secret_id)}})
            fake.put("secretstores", _vault_store(dev_server, {"appRole": {"path": "approle", "roleId": role_id,
                                                                           "secretRef": {"name": "approle",
                                                                                         "key": "sid"}}}), group=ESO)
            for i in range(5):
                fake.put("externalsecrets", es_obj(f"es{i}", data=[
                    {"secretKey": "password", "remoteRef": {"key": f"{base}/db", "property": "password"}},
                    {"secretKey": "old", "remoteRef": {"key": f"secret/{base}/db", "property": "password",
                                                       "version": "1"}},
                    {"secretKey": "port", "remoteRef": {"key": f"{base}/db", "property": "cfg.port"}},
                    {"secretKey": "all", "remoteRef": {"key": f"{base}/api"}}],
                    dataFrom=[{"find": {"path": base, "name": {"regexp": "api$"}}}]), group=ESO)
            for i in range(5):
                secret = await eventually(lambda i=i: fake.get("secrets", f"es{i}", "app"), what="Secret")
                data = {k: unb64(v) for k, v in secret["data"].items()}
                assert data["password"] == "pw2" and data["old"] == "pw1" and data["port"] == "5432"
                assert data["all"] == '{"key":"k1"}' and data[f"{base}_api"] == '{"key":"k1"}'
            provider = op.app.stores.cached(("SecretStore", "app", "store"))
            assert isinstance(provider, VaultProvider)
            assert provider.logins == 1  # ESO#376: one login per store, not per reconcile
            token = provider.client.token
            assert client.lookup_token(token)["data"]["policies"] == ["default", base]
        finally:
            await op.stop()
        with pytest.raises(hvac.exceptions.Forbidden):  # revoked on shutdown
            client.lookup_token(token)

    _run(scenario())


def test_token_auth_kv1_and_metadata(fake: FakeKube, dev_server: Any) -> None:
    client = _hvac(dev_server)
    mount = f"kv1-{uuid.uuid4().hex[:6]}"
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    client.secrets.kv.v1.create_or_update_secret("app/cfg", {"url": "https://x", "n": "1"}, mount_point=mount)
    client.secrets.kv.v2.create_or_update_secret(f"{mount}-meta", secret={"a": "b"}, mount_point="secret")
    client.secrets.kv.v2.update_metadata(f"{mount}-meta", custom_metadata={"owner": "team-a"}, mount_point="secret")

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "vault-token", "namespace": "app"},
                                 "data": {"token": b64(dev_server.root_token)}})
            auth = {"tokenSecretRef": {"name": "vault-token", "key": "token"}}
            fake.put("secretstores", store_obj("v1", provider={"vault": {"server": dev_server.addr, "path": mount,
                                                                         "version": "v1", "auth": auth}}), group=ESO)
            fake.put("secretstores", _vault_store(dev_server, auth), group=ESO)
            fake.put("externalsecrets", es_obj("kv1", store="v1", dataFrom=[{"extract": {"key": "app/cfg"}}]),
                     group=ESO)
            fake.put("externalsecrets", es_obj("meta", data=[
                {"secretKey": "owner", "remoteRef": {"key": f"{mount}-meta", "property": "owner",
                                                     "metadataPolicy": "Fetch"}}]), group=ESO)
            s1 = await eventually(lambda: fake.get("secrets", "kv1", "app"), what="kv1 Secret")
            assert {k: unb64(v) for k, v in s1["data"].items()} == {"url": "https://x", "n": "1"}
            s2 = await eventually(lambda: fake.get("secrets", "meta", "app"), what="meta Secret")
            assert unb64(s2["data"]["owner"]) == "team-a"
        finally:
            await op.stop()
        assert client.lookup_token(dev_server.root_token)  # a token we were given is never revoked

    _run(scenario())


def test_outage_keeps_last_good_secret_and_deletion_propagates(fake: FakeKube, fresh_server: Any) -> None:
    client = _hvac(fresh_server)
    client.secrets.kv.v2.create_or_update_secret("gone", secret={"v": "1"}, mount_point="secret")
    client.secrets.kv.v2.create_or_update_secret("stay", secret={"v": "2"}, mount_point="secret")

    async def scenario() -> None:
        op = await start(fake, read_cache_seconds=0.2)
        try:
            fake.put("secrets", {"metadata": {"name": "t", "namespace": "app"}, "data": {"token": b64("root")}})
            fake.put("secretstores", _vault_store(fresh_server, {"tokenSecretRef": {"name": "t", "key": "token"}}),
                     group=ESO)
            fake.put("externalsecrets", es_obj("gone", refreshInterval="1s", target={"deletionPolicy": "Delete"},
                                               data=[{"secretKey": "v", "remoteRef": {"key": "gone",
                                                                                      "property": "v"}}]), group=ESO)
            fake.put("externalsecrets", es_obj("stay", refreshInterval="1s",
                                               data=[{"secretKey": "v", "remoteRef": {"key": "stay",
                                                                                      "property": "v"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "gone", "app"), what="Secret")
            await eventually(lambda: fake.get("secrets", "stay", "app"), what="Secret")
            client.secrets.kv.v2.delete_metadata_and_all_versions("gone", mount_point="secret")
            await eventually(lambda: fake.get("secrets", "gone", "app") is None, what="propagated deletion")
            await eventually(lambda: ready(fake, "gone")["reason"] == "SecretDeleted", what="SecretDeleted")
            fresh_server.stop(signal.SIGKILL)  # the store crashes
            cond = await eventually(lambda: (c := ready(fake, "stay")) and c["status"] == "False" and c,
                                    what="outage condition", timeout=20)
            assert cond["reason"] == "SecretSyncedError" and "last synced Secret kept" in cond["message"]
            assert unb64(fake.get("secrets", "stay", "app")["data"]["v"]) == "2"
        finally:
            await op.stop()

    _run(scenario())


def test_instant_refresh_from_change_events(fake: FakeKube, dev_server: Any) -> None:
    """Beyond ESO: a write in Strongroom reaches the Secret without waiting for refreshInterval (1h here)."""
    client = _hvac(dev_server)
    key = f"instant-{uuid.uuid4().hex[:8]}"
    client.secrets.kv.v2.create_or_update_secret(key, secret={"v": "one"}, mount_point="secret")

    async def scenario() -> None:
        op = await start(fake)
        try:
            fake.put("secrets", {"metadata": {"name": "t", "namespace": "app"}, "data": {"token": b64("root")}})
            fake.put("secretstores", _vault_store(dev_server, {"tokenSecretRef": {"name": "t", "key": "token"}}),
                     group=ESO)
            fake.put("externalsecrets", es_obj("inst", data=[{"secretKey": "v", "remoteRef": {
                "key": key, "property": "v"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "inst", "app"), what="Secret")
            provider = op.app.stores.cached(("SecretStore", "app", "store"))
            assert isinstance(provider, VaultProvider)
            await eventually(lambda: provider.events_supported, what="subscribed")
            await asyncio.sleep(0.2)
            await asyncio.to_thread(client.secrets.kv.v2.create_or_update_secret, key, secret={"v": "two"},
                                    mount_point="secret")
            await eventually(lambda: unb64(fake.get("secrets", "inst", "app")["data"]["v"]) == "two",
                             what="pushed refresh", timeout=5)
        finally:
            await op.stop()

    _run(scenario())


def test_openbao_works_and_falls_back_to_polling(fake: FakeKube, bao_server: Any) -> None:
    """Any Vault/OpenBao: same provider; no change-event endpoint there, so refreshInterval polling is used."""
    client = _hvac(bao_server)
    client.secrets.kv.v2.create_or_update_secret("bao", secret={"v": "1"}, mount_point="secret")
    role_id, secret_id = _approle(client, "eso", 'path "secret/*" { capabilities = ["read", "list"] }')

    async def scenario() -> None:
        op = await start(fake, read_cache_seconds=0.2)
        try:
            fake.put("secrets", {"metadata": {"name": "approle", "namespace": "app"}, "data": {"sid": b64(secret_id)}})
            fake.put("secretstores", _vault_store(bao_server, {"appRole": {"roleId": role_id, "secretRef": {
                "name": "approle", "key": "sid"}}}), group=ESO)
            fake.put("externalsecrets", es_obj(refreshInterval="300ms", data=[
                {"secretKey": "v", "remoteRef": {"key": "bao", "property": "v"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            provider = op.app.stores.cached(("SecretStore", "app", "store"))
            assert isinstance(provider, VaultProvider)
            await eventually(lambda: provider.events_supported is False, what="fallback to polling")
            await asyncio.to_thread(client.secrets.kv.v2.create_or_update_secret, "bao", secret={"v": "2"},
                                    mount_point="secret")
            await eventually(lambda: unb64(fake.get("secrets", "es", "app")["data"]["v"]) == "2", what="polled")
            assert provider.logins == 1
        finally:
            await op.stop()

    _run(scenario())


def test_userpass_login_is_cached_and_renewed(fake: FakeKube, fresh_server: Any) -> None:
    """userPass auth; a token close to expiry is renewed (not a new login per reconcile, ESO#376)."""
    client = _hvac(fresh_server)
    client.sys.enable_auth_method("userpass")
    client.sys.create_or_update_policy("reader", 'path "secret/*" { capabilities = ["read"] }')
    client.write("auth/userpass/users/eso", password="pw-of-eso", token_policies="reader", token_ttl="62s",
                 token_max_ttl="1h")
    client.secrets.kv.v2.create_or_update_secret("up", secret={"v": "1"}, mount_point="secret")

    async def scenario() -> None:
        op = await start(fake, read_cache_seconds=0.1)
        try:
            fake.put("secrets", {"metadata": {"name": "pw", "namespace": "app"},
                                 "data": {"password": b64("pw-of-eso")}})
            fake.put("secretstores", _vault_store(fresh_server, {"userPass": {"path": "userpass", "username": "eso",
                                                                              "secretRef": {"name": "pw",
                                                                                            "key": "password"}}}),
                     group=ESO)
            fake.put("externalsecrets", es_obj(refreshInterval="500ms", data=[
                {"secretKey": "v", "remoteRef": {"key": "up", "property": "v"}}]), group=ESO)
            await eventually(lambda: fake.get("secrets", "es", "app"), what="Secret")
            provider = op.app.stores.cached(("SecretStore", "app", "store"))
            assert isinstance(provider, VaultProvider)
            await eventually(lambda: provider.renewals >= 1, what="renewal", timeout=15)
            assert provider.logins == 1
            assert ready(fake, "es")["status"] == "True"
        finally:
            await op.stop()

    _run(scenario())
