"""hvac's client.auth.token against Strongroom, compared call by call with a real OpenBao."""

from __future__ import annotations

import uuid

import hvac
import hvac.exceptions
import pytest

from tests.cli._util import assert_same


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(dev_server, bao_server):
    return hvac.Client(url=dev_server.addr, token="root"), hvac.Client(url=bao_server.addr, token="root")


def pairwise(clients, fn):
    """fn(client) on both servers; asserts the answers agree; returns both."""
    ours, theirs = fn(clients[0]), fn(clients[1])
    assert_same(ours, theirs)
    return ours, theirs


def test_create_lookup_variants(clients):
    ours, theirs = pairwise(clients, lambda c: c.auth.token.create(policies=["default"], ttl="1h",
                                                                   meta={"team": "a"}, display_name="ci"))
    assert ours["auth"]["lease_duration"] == 3600 and ours["auth"]["metadata"] == {"team": "a"}
    toks = (ours["auth"]["client_token"], theirs["auth"]["client_token"])
    accs = (ours["auth"]["accessor"], theirs["auth"]["accessor"])
    looked = [c.auth.token.lookup(t) for c, t in zip(clients, toks, strict=True)]
    assert_same(looked[0], looked[1])
    assert looked[0]["data"]["display_name"] == "token-ci"
    looked = [c.auth.token.lookup_accessor(a) for c, a in zip(clients, accs, strict=True)]
    assert_same(looked[0], looked[1])
    assert looked[0]["data"]["id"] == ""
    selfs = [hvac.Client(url=c.url, token=t).auth.token.lookup_self() for c, t in zip(clients, toks,
                                                                                         strict=True)]
    assert_same(selfs[0], selfs[1])
    ours, _ = pairwise(clients, lambda c: c.auth.token.create_orphan(policies=["default"], ttl="10m"))
    assert ours["auth"]["orphan"] is True
    ours, _ = pairwise(clients, lambda c: c.auth.token.create(policies=["default"], period="20m",
                                                              renewable=True))
    assert ours["auth"]["lease_duration"] == 1200
    ours, _ = pairwise(clients, lambda c: c.auth.token.create(policies=["default"], num_uses=3,
                                                              no_default_policy=False))
    for c in clients:
        with pytest.raises(hvac.exceptions.Forbidden, match="bad token"):
            c.auth.token.lookup("s.doesnotexist0000000000000")
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.auth.token.lookup_accessor("nope")


def test_renew_variants(clients):
    made = [c.auth.token.create(policies=["default"], ttl="30m") for c in clients]
    toks = [m["auth"]["client_token"] for m in made]
    accs = [m["auth"]["accessor"] for m in made]
    out = [c.auth.token.renew(t, increment="1h") for c, t in zip(clients, toks, strict=True)]
    assert_same(out[0], out[1])
    assert out[0]["auth"]["lease_duration"] == 3600
    out = [c.auth.token.renew_accessor(a, increment="45m") for c, a in zip(clients, accs, strict=True)]
    assert_same(out[0], out[1])
    assert out[0]["auth"]["lease_duration"] == 2700
    out = [hvac.Client(url=c.url, token=t).auth.token.renew_self() for c, t in zip(clients, toks, strict=True)]
    assert_same(out[0], out[1])
    assert out[0]["auth"]["lease_duration"] == 2700  # no increment: the last renewal's TTL again
    for c in clients:
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.auth.token.renew_self()  # root never expires: not renewable


CREATOR = 'path "auth/token/create" { capabilities = ["update"] }'


def test_revoke_variants_and_cascade(clients):
    for c in clients:
        c.sys.create_or_update_policy("token-creator", CREATOR)
        parent = c.auth.token.create(policies=["default", "token-creator"], ttl="1h")["auth"]
        pc = hvac.Client(url=c.url, token=parent["client_token"])
        child = pc.auth.token.create(policies=["default", "token-creator"], ttl="1h")["auth"]
        grandchild = hvac.Client(url=c.url, token=child["client_token"]).auth.token.create(
            policies=["default"])["auth"]
        # revoke-orphan: parent goes, child survives as an orphan, grandchild stays under child
        c.auth.token.revoke_and_orphan_children(parent["client_token"])
        with pytest.raises(hvac.exceptions.Forbidden):
            c.auth.token.lookup(parent["client_token"])
        assert c.auth.token.lookup(child["client_token"])["data"]["orphan"] is True
        # revoke (cascade): child and grandchild both go
        c.auth.token.revoke(child["client_token"])
        for t in (child, grandchild):
            with pytest.raises(hvac.exceptions.Forbidden):
                c.auth.token.lookup(t["client_token"])
            with pytest.raises(hvac.exceptions.Forbidden):
                hvac.Client(url=c.url, token=t["client_token"]).auth.token.lookup_self()
        # revoke-accessor and revoke-self
        t = c.auth.token.create(policies=["default"])["auth"]
        c.auth.token.revoke_accessor(t["accessor"])
        with pytest.raises(hvac.exceptions.Forbidden):
            hvac.Client(url=c.url, token=t["client_token"]).auth.token.lookup_self()
        t = c.auth.token.create(policies=["default"])["auth"]
        me = hvac.Client(url=c.url, token=t["client_token"])
        me.auth.token.revoke_self()
        with pytest.raises(hvac.exceptions.Forbidden):
            me.auth.token.lookup_self()


def test_list_accessors_roles_tidy(clients):
    made = [c.auth.token.create(policies=["default"]) for c in clients]
    for c, m in zip(clients, made, strict=True):
        assert m["auth"]["accessor"] in c.auth.token.list_accessors()["data"]["keys"]
    role = uid("role-")
    for c in clients:
        c.auth.token.create_or_update_role(role, allowed_policies=["default", "app"], orphan=True,
                                           token_period="1h", renewable=True)
    roles = [c.auth.token.read_role(role) for c in clients]
    common = set(roles[0]["data"]) & set(roles[1]["data"])
    assert {"allowed_policies", "orphan", "renewable", "token_period", "name"} <= common
    for k in ("allowed_policies", "orphan", "renewable", "token_period", "name"):
        assert roles[0]["data"][k] == roles[1]["data"][k], k
    for c in clients:
        assert role in c.auth.token.list_roles()["data"]["keys"]
        t = c.auth.token.create(role_name=role, policies=["app"])["auth"]
        assert t["orphan"] is True and sorted(t["policies"]) == ["app", "default"]
        assert t["lease_duration"] == 3600
    errors = []
    for c in clients:
        with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
            c.auth.token.create(role_name=role, policies=["admin"])
        errors.append(exc.value.errors)
    assert errors[0] == errors[1]
    for c in clients:
        c.auth.token.delete_role(role)
        with pytest.raises(hvac.exceptions.InvalidPath):
            c.auth.token.read_role(role)
    for c in clients:  # 202 Accepted with a warning, as OpenBao
        r = c.auth.token.tidy()
        assert r.status_code == 202 and "Tidy operation successfully started" in r.json()["warnings"][0]
        r = c.adapter.post("/v1/sys/leases/tidy")
        assert r.status_code == 202


def test_child_policy_must_be_subset(clients):
    for c in clients:
        t = c.auth.token.create(policies=["default"])["auth"]["client_token"]
        limited = hvac.Client(url=c.url, token=t)
        with pytest.raises(hvac.exceptions.Forbidden):
            limited.auth.token.create(policies=["root"])
