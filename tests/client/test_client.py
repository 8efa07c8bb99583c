import asyncio

import pytest

from strongroom.client import AsyncClient, Client, Forbidden, ServerUnavailable


def test_sync_client_against_strongroom_and_openbao(dev_server, bao_server):
    for server in (dev_server, bao_server):
        with Client(address=server.addr, token="root") as c:
            c.kv_put("secret", "client/app", {"user": "u", "pw": "p"})
            assert c.kv_get("secret", "client/app") == {"user": "u", "pw": "p"}
            assert c.kv_get("secret", "client/missing") is None
            assert "app" in c.list("secret/metadata/client")
            assert c.lookup_self()["policies"] == ["root"]
            c.token = "bogus"
            with pytest.raises(Forbidden) as exc:
                c.lookup_self()
            assert "bogus" not in str(exc.value)


def test_async_client(dev_server):
    async def go():
        c = AsyncClient(address=dev_server.addr, token="root")
        try:
            assert (await c.lookup_self())["id"] == "root"
            assert await c.kv_get("secret", "nope/nothing") is None
        finally:
            await c.aclose()

    asyncio.run(go())


def test_unreachable_server_is_a_typed_error():
    with Client(address="http://127.0.0.1:1", token="x", timeout=2) as c, pytest.raises(ServerUnavailable):
        c.lookup_self()
