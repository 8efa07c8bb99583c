"""ACL enforcement end to end through hvac: limited policies, num_uses, TTL expiry, revocation, cascade,
cubbyhole isolation. Each scenario runs on Strongroom and on OpenBao and must behave the same.
"""

from __future__ import annotations

import time
import uuid

import httpx
import hvac
import hvac.exceptions
import pytest

POLICY = """
path "secret/data/{name}/ro/*" {{ capabilities = ["read"] }}
path "secret/data/{name}/rw/*" {{ capabilities = ["create", "read", "update", "delete"] }}
path "secret/metadata/{name}/*" {{ capabilities = ["list"] }}
path "secret/data/{name}/rw/forbidden" {{ capabilities = ["deny"] }}
path "auth/token/create" {{ capabilities = ["update"] }}
"""


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["strongroom", "openbao"])
def root(request, dev_server, bao_server) -> hvac.Client:
    server = dev_server if request.param == "strongroom" else bao_server
    return hvac.Client(url=server.addr, token="root")


def as_token(root: hvac.Client, token: str) -> hvac.Client:
    return hvac.Client(url=root.url, token=token)


def test_limited_policy_and_capabilities_self(root):
    name = uid("acl-")
    root.sys.create_or_update_policy(name, POLICY.format(name=name))
    root.secrets.kv.v2.create_or_update_secret(f"{name}/ro/a", secret={"k": "v"})
    me = as_token(root, root.auth.token.create(policies=[name], ttl="10m")["auth"]["client_token"])
    kv = me.secrets.kv.v2
    assert kv.read_secret_version(f"{name}/ro/a", raise_on_deleted_version=True)["data"]["data"] == {"k": "v"}
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.create_or_update_secret(f"{name}/ro/a", secret={"k": "x"})
    kv.create_or_update_secret(f"{name}/rw/b", secret={"k": "mine"})
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.create_or_update_secret(f"{name}/rw/forbidden", secret={"k": "no"})
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.read_secret_version("elsewhere", raise_on_deleted_version=True)
    r = httpx.request("LIST", f"{root.url}/v1/secret/metadata/{name}/", headers={"X-Vault-Token": me.token})
    assert r.status_code == 200 and "rw/" in r.json()["data"]["keys"]
    with pytest.raises(hvac.exceptions.Forbidden):
        me.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        me.sys.create_or_update_policy(uid("evil-"), 'path "*" { capabilities = ["sudo"] }')
    paths = [f"secret/data/{name}/ro/a", f"secret/data/{name}/rw/b", f"secret/data/{name}/rw/forbidden",
             "sys/mounts"]
    caps = me.sys.get_capabilities(paths)["data"]
    assert caps[paths[0]] == ["read"]
    assert caps[paths[1]] == ["create", "delete", "read", "update"]
    assert caps[paths[2]] == ["deny"] and caps[paths[3]] == ["deny"]
    assert root.sys.get_capabilities(paths, token=me.token)["data"] == caps


def test_num_uses(root):
    me = as_token(root, root.auth.token.create(policies=["default"], num_uses=2)["auth"]["client_token"])
    assert root.auth.token.lookup(me.token)["data"]["num_uses"] == 2
    me.auth.token.lookup_self()
    me.auth.token.lookup_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        me.auth.token.lookup_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        root.auth.token.lookup(me.token)




def server_param(which: str, dev_server, bao_server) -> hvac.Client:
    return hvac.Client(url=(dev_server if which == "strongroom" else bao_server).addr, token="root")


@pytest.mark.parametrize("which", ["strongroom", "openbao"])
def test_num_uses_counted_before_the_request(which, dev_server, bao_server):
    """Vault decrements num_uses when the token is checked, so lookup-self already shows the remaining uses."""
    root = server_param(which, dev_server, bao_server)
    me = as_token(root, root.auth.token.create(policies=["default"], num_uses=3)["auth"]["client_token"])
    assert me.auth.token.lookup_self()["data"]["num_uses"] == 2


@pytest.mark.parametrize("which", ["strongroom", "openbao"])
def test_list_without_trailing_slash_is_checked_as_directory(which, dev_server, bao_server):
    """LIST secret/metadata/x (as hvac sends it) is authorised as secret/metadata/x/, like Vault does."""
    root = server_param(which, dev_server, bao_server)
    name = uid("ls-")
    root.sys.create_or_update_policy(name, POLICY.format(name=name))
    root.secrets.kv.v2.create_or_update_secret(f"{name}/ro/a", secret={"k": "v"})
    me = as_token(root, root.auth.token.create(policies=[name])["auth"]["client_token"])
    assert me.secrets.kv.v2.list_secrets(f"{name}/")["data"]["keys"] == ["ro/"]
    me.write("cubbyhole/n", v="1")
    assert me.list("cubbyhole")["data"]["keys"] == ["n"]


def test_ttl_expiry(root):
    me = as_token(root, root.auth.token.create(policies=["default"], ttl="2s",
                                               explicit_max_ttl="2s")["auth"]["client_token"])
    assert me.auth.token.lookup_self()["data"]["ttl"] <= 2
    time.sleep(2.5)
    with pytest.raises(hvac.exceptions.Forbidden):
        me.auth.token.lookup_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        me.read("cubbyhole/x")


def test_revoked_token_and_cascade(root):
    name = uid("casc-")
    root.sys.create_or_update_policy(name, POLICY.format(name=name))
    parent = as_token(root, root.auth.token.create(policies=[name])["auth"]["client_token"])
    child = as_token(root, parent.auth.token.create(policies=[name])["auth"]["client_token"])
    grandchild = as_token(root, child.auth.token.create(policies=[name])["auth"]["client_token"])
    orphan = as_token(root, root.auth.token.create_orphan(policies=[name])["auth"]["client_token"])
    root.auth.token.revoke(parent.token)
    for t in (parent, child, grandchild):
        with pytest.raises(hvac.exceptions.Forbidden):
            t.auth.token.lookup_self()
        with pytest.raises(hvac.exceptions.Forbidden):
            t.secrets.kv.v2.read_secret_version(f"{name}/ro/a", raise_on_deleted_version=True)
    assert orphan.auth.token.lookup_self()["data"]["orphan"] is True


def test_cubbyhole_isolation(root):
    a = as_token(root, root.auth.token.create(policies=["default"])["auth"]["client_token"])
    b = as_token(root, root.auth.token.create(policies=["default"])["auth"]["client_token"])
    a.write("cubbyhole/note", value="a-only")
    assert a.read("cubbyhole/note")["data"] == {"value": "a-only"}
    assert b.read("cubbyhole/note") is None
    b.write("cubbyhole/note", value="b-only")
    assert a.read("cubbyhole/note")["data"] == {"value": "a-only"}
    r = httpx.request("LIST", f"{root.url}/v1/cubbyhole/", headers={"X-Vault-Token": b.token})
    assert r.json()["data"]["keys"] == ["note"]
    # the cubbyhole dies with its token
    root.auth.token.revoke(a.token)
    fresh = as_token(root, root.auth.token.create(policies=["default"])["auth"]["client_token"])
    assert fresh.read("cubbyhole/note") is None
