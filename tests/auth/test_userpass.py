"""userpass through a real `strongroom server -dev`, driven by hvac and the bao CLI."""

from __future__ import annotations

import asyncio

import hvac
import hvac.exceptions
import pytest

from strongroom.auth.userpass import passwords
from strongroom.sdk import PermissionDenied
from tests.auth.conftest import anon
from tests.harness import run_cli

PW = "correct horse battery staple"


def test_user_crud_and_login_with_hvac(dev_server, root, userpass):
    up = root.auth.userpass
    up.create_or_update_user("Alice", PW, policies=["dev", "ops"], mount_point=userpass)
    user = up.read_user("alice", mount_point=userpass)["data"]
    assert user["token_policies"] == ["dev", "ops"]
    assert "password" not in user and "password_hash" not in user
    assert up.list_user(mount_point=userpass)["data"]["keys"] == ["alice"]

    client = anon(dev_server)
    auth = client.auth.userpass.login("ALICE", PW, mount_point=userpass)["auth"]
    assert auth["policies"] == ["default", "dev", "ops"]
    assert auth["metadata"] == {"username": "alice"}
    assert auth["renewable"] is True and auth["lease_duration"] == 768 * 3600
    me = client.auth.token.lookup_self()["data"]
    assert me["path"] == f"auth/{userpass}/login/ALICE"
    assert me["display_name"] == f"{userpass}-alice"

    up.update_password_on_user("alice", "a new password", mount_point=userpass)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid username or password"):
        anon(dev_server).auth.userpass.login("alice", PW, mount_point=userpass)
    anon(dev_server).auth.userpass.login("alice", "a new password", mount_point=userpass)

    up.delete_user("alice", mount_point=userpass)
    with pytest.raises(hvac.exceptions.InvalidPath):
        up.read_user("alice", mount_point=userpass)
    with pytest.raises(hvac.exceptions.InvalidPath):
        up.list_user(mount_point=userpass)


def test_unknown_user_and_wrong_password_answer_alike(dev_server, root, userpass):
    root.auth.userpass.create_or_update_user("bob", PW, mount_point=userpass)
    errors = []
    for name, pw in (("bob", "wrong"), ("nobody", "wrong"), ("nobody", PW)):
        with pytest.raises(hvac.exceptions.InvalidRequest) as exc:
            anon(dev_server).auth.userpass.login(name, pw, mount_point=userpass)
        errors.append(exc.value.errors)
    assert errors == [["invalid username or password"]] * 3


def test_unknown_user_costs_a_hash_verification(monkeypatch):
    calls = []
    real = passwords._HASHER

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(passwords, "_HASHER", Counting())
    with pytest.raises(PermissionDenied):
        asyncio.run(passwords.check_password(None, "whatever"))
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_password_hash_is_argon2id():
    stored = asyncio.run(passwords.hash_password("pw"))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    asyncio.run(passwords.check_password(stored, "pw"))
    with pytest.raises(PermissionDenied):
        asyncio.run(passwords.check_password(stored, "pW"))


def test_token_settings_reach_the_token(dev_server, root, userpass):
    root.write(f"auth/{userpass}/users/carol", password=PW, token_ttl="1h", token_max_ttl="2h",
               token_num_uses=5, token_no_default_policy=True, token_policies="a,b")
    auth = anon(dev_server).auth.userpass.login("carol", PW, mount_point=userpass)["auth"]
    assert auth["lease_duration"] == 3600
    assert auth["policies"] == ["a", "b"]
    assert auth["num_uses"] == 5


def test_bound_cidrs_refuse_other_addresses(dev_server, root, userpass):
    root.write(f"auth/{userpass}/users/dave", password=PW, token_bound_cidrs="10.0.0.0/8")
    with pytest.raises(hvac.exceptions.Forbidden):
        anon(dev_server).auth.userpass.login("dave", PW, mount_point=userpass)
    root.write(f"auth/{userpass}/users/dave", token_bound_cidrs="127.0.0.0/8")
    anon(dev_server).auth.userpass.login("dave", PW, mount_point=userpass)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("token_ttl", "soon", "token_ttl"),
    ("token_num_uses", "many", "token_num_uses"),
    ("token_bound_cidrs", "not-a-cidr", "CIDR"),
    ("token_type", "batch", "batch"),
    ("token_type", "weird", "token_type"),
    ("token_no_default_policy", "maybe", "token_no_default_policy"),
])
def test_bad_field_values_are_400_and_change_nothing(root, userpass, field, value, message):
    root.write(f"auth/{userpass}/users/erin", password=PW, token_ttl=60)
    with pytest.raises(hvac.exceptions.InvalidRequest, match=message):
        root.write(f"auth/{userpass}/users/erin", **{field: value})
    assert root.read(f"auth/{userpass}/users/erin")["data"]["token_ttl"] == 60


def test_ttl_above_max_ttl_is_refused(root, userpass):
    with pytest.raises(hvac.exceptions.InvalidRequest, match="token_max_ttl"):
        root.write(f"auth/{userpass}/users/fay", password=PW, token_ttl="2h", token_max_ttl="1h")


def test_missing_and_empty_passwords(dev_server, root, userpass):
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing password"):
        root.write(f"auth/{userpass}/users/gus", token_ttl=60)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing password"):
        root.write(f"auth/{userpass}/users/gus", password="")
    root.write(f"auth/{userpass}/users/gus", password=PW)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing password"):
        anon(dev_server).adapter.post(f"/v1/auth/{userpass}/login/gus", json={})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="does not exist"):
        root.write(f"auth/{userpass}/users/nobody/password", password=PW)


def test_minimum_password_length(dev_server, root, userpass):
    root.write(f"auth/{userpass}/config", password_min_length=12)
    assert root.read(f"auth/{userpass}/config")["data"] == {"password_min_length": 12}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="at least 12"):
        root.write(f"auth/{userpass}/users/hal", password="short")
    root.write(f"auth/{userpass}/users/hal", password="long enough pw")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="at least 12"):
        root.write(f"auth/{userpass}/users/hal/password", password="tiny")
    anon(dev_server).auth.userpass.login("hal", "long enough pw", mount_point=userpass)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="negative"):
        root.write(f"auth/{userpass}/config", password_min_length=-1)


def test_minimum_password_length_as_mount_option(root):
    path = "userpass-minlen"
    root.sys.enable_auth_method("userpass", path=path, options={"password_min_length": "10"})
    try:
        with pytest.raises(hvac.exceptions.InvalidRequest, match="at least 10"):
            root.write(f"auth/{path}/users/ian", password="123456789")
        root.write(f"auth/{path}/users/ian", password="1234567890")
    finally:
        root.sys.disable_auth_method(path)


def test_policies_endpoint(dev_server, root, userpass):
    root.write(f"auth/{userpass}/users/jo", password=PW, token_policies="a")
    root.write(f"auth/{userpass}/users/jo/policies", token_policies="x,y")
    assert root.read(f"auth/{userpass}/users/jo")["data"]["token_policies"] == ["x", "y"]
    root.write(f"auth/{userpass}/users/jo/policies", policies="z")  # the deprecated name still works
    auth = anon(dev_server).auth.userpass.login("jo", PW, mount_point=userpass)["auth"]
    assert auth["policies"] == ["default", "z"]


def test_bao_cli_write_and_login(dev_server, userpass):
    run_cli(dev_server, "write", f"auth/{userpass}/users/kim", f"password={PW}", "token_policies=reader")
    out = run_cli(dev_server, "login", "-format=json", "-no-store", "-method=userpass", f"-path={userpass}",
                  "username=kim", f"password={PW}", token="").stdout
    assert '"username": "kim"' in out and '"reader"' in out
    bad = run_cli(dev_server, "login", "-no-store", "-method=userpass", f"-path={userpass}", "username=kim",
                  "password=nope", token="", check=False)
    assert bad.returncode != 0 and "invalid username or password" in bad.stderr


def test_renew_fails_after_user_deleted(dev_server, root, userpass):
    root.write(f"auth/{userpass}/users/lee", password=PW, token_ttl=600)
    client = anon(dev_server)
    client.auth.userpass.login("lee", PW, mount_point=userpass)
    root.delete(f"auth/{userpass}/users/lee")
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.renew_self()
