"""The real `bao` CLI against Strongroom, with a real OpenBao dev server as the oracle.

Each test runs the same commands against both servers (`dev_server`, `bao_server`) and compares the JSON output
after normalising ids, accessors and times (tests/cli/_util.py). Names are unique per test: the servers are shared.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.cli._util import assert_same, bao, bao_json, both, both_text, each, error_lines

POLICY = """
path "auth/token/create" {{
  capabilities = ["update"]
}}
path "secret/data/{name}/*" {{
  capabilities = ["create", "read", "update", "list"]
}}
path "secret/metadata/{name}/*" {{
  capabilities = ["list"]
}}
"""


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pair(dev_server, bao_server):
    return dev_server, bao_server


# --- status / secrets engines -------------------------------------------------------------------------------


def test_status(pair):
    sr, ob = pair
    both(sr, ob, "status", ignore=("version",))
    ours, _ = both_text(sr, ob, "status")
    assert "Sealed             false" in ours or "Sealed          false" in ours


def test_secrets_enable_list_tune_disable(pair):
    sr, ob = pair
    p1, p2 = uid("kv1-"), uid("kv2-")
    each(pair, "secrets", "enable", f"-path={p1}", "kv")
    each(pair, "secrets", "enable", f"-path={p2}", "-version=2", "-description=second", "kv")
    mounts = [bao_json(s, "secrets", "list", "-detailed") for s in pair]
    for m in mounts:
        assert m[f"{p1}/"]["type"] == "kv" and m[f"{p1}/"]["options"] in (None, {})
        assert m[f"{p2}/"]["options"] == {"version": "2"}
    assert_same(mounts[0][f"{p2}/"], mounts[1][f"{p2}/"], ignore=("running_plugin_version",))
    each(pair, "secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "-description=tuned", f"{p1}/")
    both(sr, ob, "read", f"sys/mounts/{p1}/tune")
    ours, theirs = both_text(sr, ob, "write", f"sys/mounts/{p1}/tune", "default_lease_ttl=bogus")
    assert "Code: 400" in ours and "Code: 400" in theirs
    for p in (p1, p2):
        assert both_text(sr, ob, "secrets", "disable", f"{p}/")[0] == \
            f"Success! Disabled the secrets engine (if it existed) at: {p}/\n"
    for m in (bao_json(s, "secrets", "list") for s in pair):
        assert f"{p1}/" not in m and f"{p2}/" not in m
    # disabling something that is not there succeeds on both
    ours, theirs = both_text(sr, ob, "secrets", "disable", "never-mounted/")
    assert ours == theirs
    # mounting twice at the same path fails on both
    each(pair, "secrets", "enable", f"-path={p1}", "kv")
    ours, theirs = both_text(sr, ob, "secrets", "enable", f"-path={p1}", "kv")
    assert "path is already in use" in ours and "path is already in use" in theirs
    each(pair, "secrets", "disable", p1)


# --- kv ------------------------------------------------------------------------------------------------------


def test_kv_put_get_patch_metadata(pair):
    sr, ob = pair
    name = uid("app-")
    both(sr, ob, "kv", "put", f"secret/{name}", "user=alice", "password=s3cr3t")
    both(sr, ob, "kv", "get", f"secret/{name}")
    both(sr, ob, "kv", "patch", f"secret/{name}", "password=changed", "extra=1")
    ours, _ = both(sr, ob, "kv", "get", f"secret/{name}")
    assert ours["data"]["data"] == {"user": "alice", "password": "changed", "extra": "1"}
    assert ours["data"]["metadata"]["version"] == 2
    both(sr, ob, "kv", "get", "-version=1", f"secret/{name}")
    assert bao(sr, "kv", "get", "-field=user", f"secret/{name}").stdout == \
        bao(ob, "kv", "get", "-field=user", f"secret/{name}").stdout == "alice"
    both(sr, ob, "kv", "put", "-cas=2", f"secret/{name}", "user=bob")
    ours, theirs = both_text(sr, ob, "kv", "put", "-cas=1", f"secret/{name}", "user=eve")
    assert error_lines(ours) == error_lines(theirs)
    both(sr, ob, "kv", "metadata", "put", "-max-versions=5", "-custom-metadata=owner=team-a",
         f"secret/{name}")
    for s in pair:
        assert name in bao_json(s, "kv", "list", "secret/")
    ours, theirs = both_text(sr, ob, "kv", "get", f"secret/{uid('missing-')}")
    assert ours.startswith("No value found at secret/data/") and theirs.startswith("No value found at")
    ours, theirs = both_text(sr, ob, "kv", "metadata", "delete", f"secret/{name}")
    assert ours == theirs == f"Success! Data deleted (if it existed) at: secret/metadata/{name}\n"
    ours, theirs = both_text(sr, ob, "kv", "get", f"secret/{name}")
    assert ours == theirs


def test_kv_metadata_matches_openbao(pair):
    name = uid("meta-")
    each(pair, "kv", "put", f"secret/{name}", "a=1")
    time.sleep(1.1)
    each(pair, "kv", "metadata", "put", "-max-versions=3", f"secret/{name}")
    ours, theirs = (bao_json(s, "kv", "metadata", "get", f"secret/{name}") for s in pair)
    assert ours["data"]["updated_time"] != ours["data"]["created_time"]
    assert_same(ours, theirs)


def test_kv_delete_undelete_destroy_rollback(pair):
    sr, ob = pair
    name = uid("life-")
    for i in (1, 2, 3):
        both(sr, ob, "kv", "put", f"secret/{name}", f"v={i}")
    assert both_text(sr, ob, "kv", "delete", f"secret/{name}")[0] == \
        f"Success! Data deleted (if it existed) at: secret/data/{name}\n"
    a = bao(sr, "kv", "get", f"secret/{name}", check=False, fmt="json")
    b = bao(ob, "kv", "get", f"secret/{name}", check=False, fmt="json")
    assert a.returncode == b.returncode
    assert_same(json.loads(a.stdout), json.loads(b.stdout))
    assert json.loads(a.stdout)["data"]["data"] is None
    both_text(sr, ob, "kv", "undelete", "-versions=3", f"secret/{name}")
    both(sr, ob, "kv", "get", f"secret/{name}")
    both_text(sr, ob, "kv", "delete", "-versions=1", f"secret/{name}")
    both_text(sr, ob, "kv", "destroy", "-versions=2", f"secret/{name}")
    ours, theirs = both_text(sr, ob, "kv", "rollback", "-version=2", f"secret/{name}")
    assert ours == theirs == "Cannot roll back to a version that has been destroyed\n"
    both(sr, ob, "kv", "rollback", "-version=3", f"secret/{name}")
    ours, _ = both(sr, ob, "kv", "get", f"secret/{name}")
    assert ours["data"]["data"] == {"v": "3"} and ours["data"]["metadata"]["version"] == 4
    meta, _ = both(sr, ob, "kv", "metadata", "get", f"secret/{name}",
                   ignore=("current_metadata_version", "metadata_cas_required", "updated_time"))
    assert meta["data"]["versions"]["2"]["destroyed"] is True


def test_kv_v1(pair):
    sr, ob = pair
    mount = uid("v1-")
    each(pair, "secrets", "enable", f"-path={mount}", "kv")
    try:
        both_text(sr, ob, "kv", "put", f"{mount}/app", "a=1")
        ours, _ = both(sr, ob, "kv", "get", f"{mount}/app")
        assert ours["lease_id"] == "" and ours["lease_duration"] == 2764800  # a TTL hint, no lease
        both(sr, ob, "kv", "list", f"{mount}/")
        assert both_text(sr, ob, "kv", "delete", f"{mount}/app")[0] == \
            f"Success! Data deleted (if it existed) at: {mount}/app\n"
        ours, theirs = both_text(sr, ob, "kv", "get", f"{mount}/app")
        assert ours == theirs
    finally:
        each(pair, "secrets", "disable", mount)


# --- policies ------------------------------------------------------------------------------------------------


def test_policy_write_read_list_delete(pair, tmp_path):
    sr, ob = pair
    name = uid("pol-")
    text = POLICY.format(name=name)
    path = tmp_path / "p.hcl"
    path.write_text(text)
    assert both_text(sr, ob, "policy", "write", name, str(path))[0] == f"Success! Uploaded policy: {name}\n"
    assert both_text(sr, ob, "policy", "write", name + "-stdin", "-", input=text)[0] == \
        f"Success! Uploaded policy: {name}-stdin\n"
    ours, theirs = both_text(sr, ob, "policy", "read", name)
    assert ours == theirs == text + "\n" or ours == theirs
    both(sr, ob, "policy", "read", name + "-stdin")
    for s in pair:
        listed = bao_json(s, "policy", "list")
        assert {name, name + "-stdin", "default", "root"} <= set(listed)
    # a JSON policy document is accepted too
    doc = json.dumps({"path": {f"secret/data/{name}-json": {"capabilities": ["read"]}}})
    both_text(sr, ob, "policy", "write", name + "-json", "-", input=doc)
    for s in pair:
        assert bao_json(s, "token", "capabilities", f"secret/data/{name}-json") == ["root"]
    for suffix in ("", "-stdin", "-json"):
        assert both_text(sr, ob, "policy", "delete", name + suffix)[0] == \
            f"Success! Deleted policy: {name}{suffix}\n"
    ours, theirs = both_text(sr, ob, "policy", "read", name)
    assert ours == theirs == f"No policy named: {name}\n"
    # broken documents fail on both with exit 2 and an API error
    (tmp_path / "bad.hcl").write_text('path "x" { capabilities = ["bogus"] }')
    ours, theirs = both_text(sr, ob, "policy", "write", name, str(tmp_path / "bad.hcl"))
    assert "Code: 400" in ours and "Code: 400" in theirs and "bogus" in ours
    (tmp_path / "bad2.hcl").write_text('path "x" {')
    ours, theirs = both_text(sr, ob, "policy", "write", name, str(tmp_path / "bad2.hcl"))
    assert "Code: 400" in ours and "failed to parse policy" in ours
    ours, theirs = both_text(sr, ob, "policy", "delete", "root")
    assert "Code: 400" in ours and "Code: 400" in theirs


# --- tokens --------------------------------------------------------------------------------------------------


TOKEN_IGNORE = ("creation_time", "expire_time", "issue_time")


def test_token_create_lookup_renew_revoke(pair):
    sr, ob = pair
    name = uid("tok-")
    each(pair, "policy", "write", name, "-", input=POLICY.format(name=name))
    ours, theirs = both(sr, ob, "token", "create", f"-policy={name}", "-ttl=1h", "-display-name=ci")
    tok = (ours["auth"]["client_token"], theirs["auth"]["client_token"])
    acc = (ours["auth"]["accessor"], theirs["auth"]["accessor"])
    assert ours["auth"]["lease_duration"] == 3600
    assert sorted(ours["auth"]["policies"]) == sorted(["default", name])
    a = bao_json(sr, "token", "lookup", tok[0])
    b = bao_json(ob, "token", "lookup", tok[1])
    assert_same(a, b)
    a = bao_json(sr, "token", "lookup", "-accessor", acc[0])
    b = bao_json(ob, "token", "lookup", "-accessor", acc[1])
    assert_same(a, b)
    a = bao_json(sr, "token", "lookup", token=tok[0])  # lookup-self
    b = bao_json(ob, "token", "lookup", token=tok[1])
    assert_same(a, b)
    a = bao_json(sr, "token", "renew", "-increment=2h", tok[0])
    b = bao_json(ob, "token", "renew", "-increment=2h", tok[1])
    assert_same(a, b)
    assert a["auth"]["lease_duration"] == 7200
    a = bao_json(sr, "token", "renew", token=tok[0])  # renew-self re-grants the last TTL
    b = bao_json(ob, "token", "renew", token=tok[1])
    assert_same(a, b)
    # children of a child token, then revoke with -mode=orphan: the grandchild survives as an orphan
    kid = [bao_json(s, "token", "create", f"-policy={name}", token=t)["auth"]["client_token"]
           for s, t in zip(pair, tok, strict=True)]
    for s, t in zip(pair, tok, strict=True):
        assert bao(s, "token", "revoke", "-mode=orphan", t).stdout == "Success! Revoked token (if it existed)\n"
    for s, k in zip(pair, kid, strict=True):
        assert bao_json(s, "token", "lookup", k)["data"]["orphan"] is True
    for s, a_ in zip(pair, acc, strict=True):  # its accessor is gone; revoking it again still succeeds
        assert bao(s, "token", "revoke", "-accessor", a_).returncode == 0
        r = bao(s, "token", "lookup", "-accessor", a_, check=False)
        assert r.returncode == 2 and "Code: 400" in r.stderr
    for s, k in zip(pair, kid, strict=True):
        bao(s, "token", "revoke", k)
        r = bao(s, "token", "lookup", k, check=False)
        assert r.returncode == 2 and "Code: 403" in r.stderr and "bad token" in r.stderr


def test_token_orphan_period_use_limit(pair):
    sr, ob = pair
    ours, theirs = both(sr, ob, "token", "create", "-orphan", "-period=30m", "-policy=default")
    assert ours["auth"]["orphan"] is True and ours["auth"]["lease_duration"] == 1800
    a = bao_json(sr, "token", "lookup", ours["auth"]["client_token"])
    b = bao_json(ob, "token", "lookup", theirs["auth"]["client_token"])
    assert_same(a, b)
    assert a["data"]["period"] == 1800
    a = bao_json(sr, "token", "renew", ours["auth"]["client_token"])
    b = bao_json(ob, "token", "renew", theirs["auth"]["client_token"])
    assert_same(a, b)
    ours, theirs = both(sr, ob, "token", "create", "-use-limit=2", "-policy=default")
    limited = (ours["auth"]["client_token"], theirs["auth"]["client_token"])
    assert bao_json(sr, "token", "lookup", limited[0])["data"]["num_uses"] == 2
    for s, t in zip(pair, limited, strict=True):
        assert bao(s, "token", "lookup", token=t).returncode == 0
        assert bao(s, "token", "lookup", token=t).returncode == 0
        r = bao(s, "token", "lookup", token=t, check=False)
        assert r.returncode == 2 and "Code: 403" in r.stderr and "permission denied" in r.stderr
    # explicit max TTL caps renewals; non-root parents cannot create orphans
    ours, theirs = both(sr, ob, "token", "create", "-ttl=10m", "-explicit-max-ttl=15m", "-policy=default")
    a = bao_json(sr, "token", "renew", "-increment=1h", ours["auth"]["client_token"])
    b = bao_json(ob, "token", "renew", "-increment=1h", theirs["auth"]["client_token"])
    assert_same(a, b, ignore=("warnings",))
    assert a["auth"]["lease_duration"] <= 900
    child = (ours["auth"]["client_token"], theirs["auth"]["client_token"])
    for s, t in zip(pair, child, strict=True):
        r = bao(s, "token", "create", "-orphan", token=t, check=False)
        assert r.returncode == 2 and "Code: 403" in r.stderr


def test_token_capabilities(pair):
    sr, ob = pair
    name = uid("caps-")
    each(pair, "policy", "write", name, "-", input=POLICY.format(name=name))
    toks = [bao_json(s, "token", "create", f"-policy={name}")["auth"] for s in pair]
    for path in (f"secret/data/{name}/x", f"secret/metadata/{name}/x", "secret/data/other", "sys/mounts"):
        outs = [bao(s, "token", "capabilities", t["client_token"], path).stdout for s, t in zip(pair, toks,
                                                                                                strict=True)]
        assert outs[0] == outs[1], path
        outs = [bao(s, "token", "capabilities", path, token=t["client_token"]).stdout
                for s, t in zip(pair, toks, strict=True)]
        assert outs[0] == outs[1], path
    assert bao(sr, "token", "capabilities", f"secret/data/{name}/x", token=toks[0]["client_token"]).stdout \
        == "create, list, read, update\n"
    ours, theirs = both_text(sr, ob, "token", "capabilities", "sys/mounts")
    assert ours == theirs == "root\n"


# --- response wrapping ---------------------------------------------------------------------------------------


def test_wrapping_kv_get_and_unwrap(pair):
    sr, ob = pair
    name = uid("wrap-")
    each(pair, "kv", "put", f"secret/{name}", "k=v")
    ours, theirs = both(sr, ob, "kv", "get", "-wrap-ttl=5m", f"secret/{name}")
    wt = (ours["wrap_info"]["token"], theirs["wrap_info"]["token"])
    assert ours["wrap_info"]["ttl"] == 300 and ours["wrap_info"]["creation_path"] == f"secret/data/{name}"
    assert ours["data"] is None
    a = bao_json(sr, "token", "lookup", wt[0])
    b = bao_json(ob, "token", "lookup", wt[1])
    assert_same(a, b)
    a = bao_json(sr, "write", "sys/wrapping/lookup", f"token={wt[0]}")
    b = bao_json(ob, "write", "sys/wrapping/lookup", f"token={wt[1]}")
    assert_same(a, b)
    a = bao_json(sr, "write", "sys/wrapping/rewrap", f"token={wt[0]}")
    b = bao_json(ob, "write", "sys/wrapping/rewrap", f"token={wt[1]}")
    assert_same(a, b)
    new = (a["wrap_info"]["token"], b["wrap_info"]["token"])
    for s, t in zip(pair, wt, strict=True):  # the old token died with the rewrap
        r = bao(s, "unwrap", t, check=False)
        assert r.returncode == 2 and "wrapping token is not valid or does not exist" in r.stderr
    a = bao_json(sr, "unwrap", new[0])
    b = bao_json(ob, "unwrap", new[1])
    assert_same(a, b)
    assert a["data"]["data"] == {"k": "v"}
    for s, t in zip(pair, new, strict=True):  # single use
        r = bao(s, "unwrap", t, check=False)
        assert r.returncode == 2 and "wrapping token is not valid or does not exist" in r.stderr


def test_wrapping_token_create_and_sys_wrap(pair):
    sr, ob = pair
    ours, theirs = both(sr, ob, "token", "create", "-wrap-ttl=60", "-policy=default")
    assert ours["wrap_info"]["creation_path"] == "auth/token/create" and ours["wrap_info"]["wrapped_accessor"]
    # unwrap with the wrapping token as the caller's token (no argument)
    a = bao_json(sr, "unwrap", token=ours["wrap_info"]["token"])
    b = bao_json(ob, "unwrap", token=theirs["wrap_info"]["token"])
    assert_same(a, b)
    assert a["auth"]["accessor"] == ours["wrap_info"]["wrapped_accessor"]
    assert bao(sr, "token", "lookup", token=a["auth"]["client_token"]).returncode == 0
    ours, theirs = both(sr, ob, "write", "-wrap-ttl=1m", "sys/wrapping/wrap", "foo=bar", "n=1")
    a = bao_json(sr, "unwrap", ours["wrap_info"]["token"])
    b = bao_json(ob, "unwrap", theirs["wrap_info"]["token"])
    assert_same(a, b)
    assert a["data"] == {"foo": "bar", "n": "1"}


# --- key status / rotate -------------------------------------------------------------------------------------


def test_key_status_and_rotate(pair):
    sr, ob = pair
    before = [bao_json(s, "operator", "key-status") for s in (sr, ob)]
    for s in (sr, ob):
        assert bao(s, "operator", "rotate").stdout.startswith("Success! Rotated key")
    after = [bao_json(s, "operator", "key-status") for s in (sr, ob)]
    for b, a in zip(before, after, strict=True):
        assert a["term"] == b["term"] + 1
    assert_same(after[0], after[1], ignore=("term",))
    # data written before the rotation is still readable after it
    bao(sr, "kv", "put", "secret/rot", "a=1")
    bao(sr, "operator", "rotate")
    assert bao_json(sr, "kv", "get", "secret/rot")["data"]["data"] == {"a": "1"}


def test_unknown_path(pair):
    sr, ob = pair
    ours, theirs = both_text(sr, ob, "read", "nonexistent-mount/foo")
    assert ours == theirs == "No value found at nonexistent-mount/foo\n"
    ours, theirs = both_text(sr, ob, "write", "nonexistent-mount/foo", "a=1")
    assert "Code: 404" in ours and "Code: 404" in theirs
    assert error_lines(ours) == error_lines(theirs) == [
        '* no handler for route "nonexistent-mount/foo". route entry not found.']


def test_login_with_a_token(pair):
    sr = pair[0]
    made = each(pair, "token", "create", "-policy=default", "-ttl=20m", json_out=True)
    toks = [m["auth"]["client_token"] for m in made]
    outs = [bao_json(s, "login", "-no-store", t) for s, t in zip(pair, toks, strict=True)]
    assert_same(outs[0], outs[1])
    assert outs[0]["auth"]["client_token"] == toks[0] and outs[0]["auth"]["lease_duration"] > 1100
    r = bao(sr, "login", "-no-store", "s.not-a-real-token-000000000", check=False)
    assert r.returncode == 2 and "Code: 403" in r.stderr
