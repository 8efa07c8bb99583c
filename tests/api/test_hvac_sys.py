"""hvac's system-backend client (hvac.Client.sys) against Strongroom, with a real OpenBao as the oracle."""

from __future__ import annotations

import json
import uuid

import httpx
import hvac
import hvac.exceptions
import pytest

from tests.cli._util import assert_same


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(dev_server, bao_server):
    return hvac.Client(url=dev_server.addr, token="root"), hvac.Client(url=bao_server.addr, token="root")


def call(client: hvac.Client, method: str, *args, **kwargs):
    obj = client
    for part in method.split("."):
        obj = getattr(obj, part)
    return obj(*args, **kwargs)


def same(clients, method: str, *args, ignore=(), **kwargs):
    """Calls the same hvac method on Strongroom and OpenBao; asserts the answers agree; returns Strongroom's."""
    ours, theirs = (call(c, method, *args, **kwargs) for c in clients)
    assert_same(ours, theirs, ignore=ignore)
    return ours


def test_init_and_seal_status(clients):
    assert all(c.sys.is_initialized() for c in clients)
    assert not any(c.sys.is_sealed() for c in clients)
    same(clients, "sys.read_seal_status")
    same(clients, "sys.read_init_status")
    same(clients, "sys.read_leader_status")


def test_health_flags_and_status_codes(dev_server, bao_server):
    for s in (dev_server, bao_server):
        c = hvac.Client(url=s.addr)
        h = c.sys.read_health_status(method="GET")
        assert h["initialized"] is True and h["sealed"] is False
        for query, code in (("", 200), ("activecode=299", 299), ("standbyok=true", 200),
                            ("perfstandbyok=true", 200), ("sealedcode=500&activecode=204", 204)):
            r = httpx.get(f"{s.addr}/v1/sys/health?{query}")
            assert r.status_code == code, (s.addr, query)
        assert httpx.head(f"{s.addr}/v1/sys/health").status_code == 200
    a = httpx.get(f"{dev_server.addr}/v1/sys/health").json()
    b = httpx.get(f"{bao_server.addr}/v1/sys/health").json()
    assert_same(a, b)


def test_mounts_enable_list_tune_disable(clients):
    path = uid("m-")
    for c in clients:
        c.sys.enable_secrets_engine("kv", path=path, description="from hvac", options={"version": "2"},
                                    config={"default_lease_ttl": "1h"})
    listed = [c.sys.list_mounted_secrets_engines() for c in clients]
    assert_same(listed[0]["data"][f"{path}/"], listed[1]["data"][f"{path}/"])
    assert listed[0][f"{path}/"]["description"] == "from hvac"  # legacy top-level copy hvac still reads
    same(clients, "sys.read_mount_configuration", path)
    for c in clients:
        c.sys.tune_mount_configuration(path, default_lease_ttl="2h", max_lease_ttl="4h", description="tuned")
    tuned = same(clients, "sys.read_mount_configuration", path)
    assert tuned["data"]["default_lease_ttl"] == 7200 and tuned["data"]["description"] == "tuned"
    assert [c.sys.retrieve_mount_option(path, "version") for c in clients] == ["2", "2"]
    for c in clients:
        c.sys.disable_secrets_engine(path)
        assert f"{path}/" not in c.sys.list_mounted_secrets_engines()["data"]
    for c in clients:
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.sys.enable_secrets_engine("no-such-engine", path=uid("x-"))
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.sys.read_mount_configuration(uid("absent-"))


def test_auth_methods_list(clients):
    methods = [c.sys.list_auth_methods() for c in clients]
    assert_same(methods[0]["data"]["token/"], methods[1]["data"]["token/"], ignore=("running_plugin_version",
                                                                                    "options"))
    same(clients, "sys.read_auth_method_tuning", "token")


# OpenBao 2.x's policy check-and-set bookkeeping; Strongroom does not version policies (known divergence)
OPENBAO_POLICY_CAS = ("version", "cas_required", "modified", "allow_slashes_in_identity_templates",
                      "allow_wildcards_in_identity_templates")

HCL = """
path "secret/data/{name}/*" {{
  capabilities = ["read", "list"]
}}
"""


def test_policies_hcl_and_json(clients):
    name = uid("p-")
    for c in clients:
        c.sys.create_or_update_policy(name, HCL.format(name=name))
        c.sys.create_or_update_policy(name + "-json", {"path": {f"secret/data/{name}-j": {
            "capabilities": ["read"]}}})
        c.sys.create_or_update_acl_policy(name + "-acl", HCL.format(name=name))
    same(clients, "sys.read_policy", name, ignore=OPENBAO_POLICY_CAS)
    same(clients, "sys.read_acl_policy", name + "-acl", ignore=OPENBAO_POLICY_CAS)
    for c in clients:
        assert {name, name + "-json", name + "-acl", "default", "root"} <= set(c.sys.list_policies()["data"]
                                                                               ["policies"])
        assert {name, name + "-acl"} <= set(c.sys.list_acl_policies()["data"]["keys"])
        stored = c.sys.read_policy(name + "-json")["data"]["rules"]
        assert json.loads(stored)["path"] == {f"secret/data/{name}-j": {"capabilities": ["read"]}}
    for c in clients:
        for suffix in ("", "-json"):
            c.sys.delete_policy(name + suffix)
        c.sys.delete_acl_policy(name + "-acl")
        with pytest.raises(hvac.exceptions.InvalidPath):
            c.sys.read_policy(name)
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.sys.create_or_update_policy(name, 'path "x" { capabilities = ["fly"] }')
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.sys.delete_policy("root")


def test_capabilities(clients):
    name = uid("cap-")
    toks = []
    for c in clients:
        c.sys.create_or_update_policy(name, HCL.format(name=name))
        toks.append(c.auth.token.create(policies=[name])["auth"]["client_token"])
    paths = [f"secret/data/{name}/a", "secret/data/elsewhere"]
    a = clients[0].sys.get_capabilities(paths, token=toks[0])
    b = clients[1].sys.get_capabilities(paths, token=toks[1])
    assert_same(a, b)
    assert a["data"][paths[0]] == ["list", "read"] and a["data"][paths[1]] == ["deny"]
    a = clients[0].sys.get_capabilities(paths[:1])  # capabilities-self as root
    b = clients[1].sys.get_capabilities(paths[:1])
    assert_same(a, b)
    assert a["capabilities"] == ["root"]
    # capabilities-accessor
    acc = [c.auth.token.lookup(t)["data"]["accessor"] for c, t in zip(clients, toks, strict=True)]
    a, b = (c.write("sys/capabilities-accessor", accessor=x, paths=paths) for c, x in zip(clients, acc,
                                                                                          strict=True))
    assert_same(a, b)
    # capabilities-self as the limited token matches sys/capabilities for it
    limited = hvac.Client(url=clients[0].url, token=toks[0])
    assert limited.sys.get_capabilities(paths)["data"] == a["data"] or \
        limited.sys.get_capabilities(paths)["data"][paths[0]] == ["list", "read"]


def test_wrapping_wrap_unwrap_lookup_rewrap(clients):
    infos = [c.sys.wrap(payload={"msg": "hi", "n": 1}, ttl="2m") for c in clients]
    assert_same(infos[0], infos[1])
    tokens = [i["wrap_info"]["token"] for i in infos]
    looked = [c.write("sys/wrapping/lookup", token=t) for c, t in zip(clients, tokens, strict=True)]
    assert_same(looked[0], looked[1])
    assert looked[0]["data"]["creation_ttl"] == 120
    rewrapped = [c.write("sys/wrapping/rewrap", token=t) for c, t in zip(clients, tokens, strict=True)]
    assert_same(rewrapped[0], rewrapped[1])
    new = [r["wrap_info"]["token"] for r in rewrapped]
    for c, t in zip(clients, tokens, strict=True):
        with pytest.raises(hvac.exceptions.InvalidRequest):
            c.sys.unwrap(t)
    out = [c.sys.unwrap(t) for c, t in zip(clients, new, strict=True)]
    assert_same(out[0], out[1])
    assert out[0]["data"] == {"msg": "hi", "n": 1}
    # unwrap with the wrapping token as X-Vault-Token, no body
    info = clients[0].sys.wrap(payload={"x": "y"}, ttl=60)
    holder = hvac.Client(url=clients[0].url, token=info["wrap_info"]["token"])
    assert holder.sys.unwrap()["data"] == {"x": "y"}
    with pytest.raises(hvac.exceptions.Forbidden):
        holder.sys.unwrap()  # the wrapping token died with its single use


def test_key_status_and_rotate(dev_server):
    c = hvac.Client(url=dev_server.addr, token="root")
    before = c.sys.get_encryption_key_status()
    c.sys.rotate_encryption_key()
    after = c.sys.get_encryption_key_status()
    assert after["data"]["term"] == before["data"]["term"] + 1
    assert after["term"] == after["data"]["term"]  # legacy top-level copy


def test_rekey_and_generate_root_with_hvac(fresh_server):
    """hvac's rekey (legacy sys/rekey/*) with verification, then generate_root with an OTP, on a 1-share server."""
    c = hvac.Client(url=fresh_server.addr, token="root")
    key = fresh_server.unseal_key
    started = c.sys.start_rekey(secret_shares=3, secret_threshold=2, require_verification=True)
    assert started["started"] is True and started["required"] == 1
    assert c.sys.read_rekey_progress()["nonce"] == started["nonce"]
    done = c.sys.rekey(key=key, nonce=started["nonce"])
    assert done["complete"] is True and len(done["keys"]) == 3 and done["verification_nonce"]
    new_keys = done["keys"]
    v = c.sys.rekey_verify(new_keys[0], done["verification_nonce"])
    assert v["progress"] == 1
    assert c.sys.read_rekey_verify_progress()["progress"] == 1
    v = c.sys.rekey_verify(new_keys[1], done["verification_nonce"])
    assert v["complete"] is True
    assert c.sys.read_seal_status()["t"] == 2 and c.sys.read_seal_status()["n"] == 3
    # cancel paths answer 204
    c.sys.start_rekey(secret_shares=1, secret_threshold=1)
    c.sys.cancel_rekey()
    assert c.sys.read_rekey_progress()["started"] is False
    # generate-root with an OTP (hvac passes the OTP itself)
    otp = "A" * 26
    st = c.sys.start_root_token_generation(otp=otp)
    assert st["started"] is True and st["required"] == 2
    c.sys.generate_root(key=new_keys[0], nonce=st["nonce"])
    final = c.sys.generate_root(key=new_keys[2], nonce=st["nonce"])
    assert final["complete"] is True
    token = c.write("sys/decode-token", encoded_token=final["encoded_token"], otp=otp)["data"]["token"]
    fresh = hvac.Client(url=fresh_server.addr, token=token)
    assert fresh.auth.token.lookup_self()["data"]["policies"] == ["root"]
    st = c.sys.start_root_token_generation(otp=otp)
    c.sys.cancel_root_generation()
    assert c.sys.read_root_generation_progress()["started"] is False
    # seal, and unseal with the new shares through hvac
    c.sys.seal()
    assert c.sys.is_sealed()
    out = c.sys.submit_unseal_keys(new_keys[1:])
    assert out["sealed"] is False


def test_wrapping_lookup_with_the_token_in_the_header_does_not_spend_it(dev_server, bao_server):
    for s in (dev_server, bao_server):
        c = hvac.Client(url=s.addr, token="root")
        wt = c.sys.wrap(payload={"a": "b"}, ttl=60)["wrap_info"]["token"]
        holder = hvac.Client(url=s.addr, token=wt)
        assert holder.write("sys/wrapping/lookup")["data"]["creation_ttl"] == 60
        assert holder.sys.unwrap()["data"] == {"a": "b"}
