"""AppRole through a real `strongroom server -dev`, driven by hvac and the bao CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import hvac
import hvac.exceptions
import pytest

from tests.auth.conftest import anon
from tests.harness import run_cli


def role_and_secret(root: hvac.Client, mount: str, name: str = "app", **role: object) -> tuple[str, str]:
    root.auth.approle.create_or_update_approle(name, mount_point=mount, **role)  # type: ignore[arg-type]
    role_id = root.auth.approle.read_role_id(name, mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(name, mount_point=mount)["data"]["secret_id"]
    return role_id, secret_id


def test_role_crud_and_login_with_hvac(dev_server, root, approle):
    ar = root.auth.approle
    ar.create_or_update_approle("web", token_policies=["p1", "p2"], token_ttl="10m", secret_id_ttl="1h",
                                secret_id_num_uses=5, mount_point=approle)
    role = ar.read_role("web", mount_point=approle)["data"]
    assert role["bind_secret_id"] is True and role["secret_id_ttl"] == 3600 and role["secret_id_num_uses"] == 5
    assert role["token_policies"] == ["p1", "p2"] and role["token_ttl"] == 600
    assert role["secret_id_bound_cidrs"] is None and role["local_secret_ids"] is False
    assert ar.list_roles(mount_point=approle)["data"]["keys"] == ["web"]

    role_id = ar.read_role_id("web", mount_point=approle)["data"]["role_id"]
    gen = ar.generate_secret_id("web", metadata={"team": "blue"}, mount_point=approle)["data"]
    assert gen["secret_id_num_uses"] == 5 and gen["secret_id_ttl"] == 3600

    client = anon(dev_server)
    auth = client.auth.approle.login(role_id, gen["secret_id"], mount_point=approle)["auth"]
    assert auth["policies"] == ["default", "p1", "p2"]
    assert auth["metadata"] == {"team": "blue", "role_name": "web"}
    assert auth["lease_duration"] == 600
    assert client.auth.token.lookup_self()["data"]["display_name"] == f"{approle}-web"

    look = ar.read_secret_id("web", gen["secret_id"], mount_point=approle)["data"]
    assert look["secret_id_num_uses"] == 4 and look["metadata"] == {"team": "blue"}
    assert look["secret_id_accessor"] == gen["secret_id_accessor"]
    assert ar.list_secret_id_accessors("web", mount_point=approle)["data"]["keys"] == [gen["secret_id_accessor"]]
    by_acc = ar.read_secret_id_accessor("web", gen["secret_id_accessor"], mount_point=approle)["data"]
    assert by_acc["secret_id_num_uses"] == 4

    ar.destroy_secret_id_accessor("web", gen["secret_id_accessor"], mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        anon(dev_server).auth.approle.login(role_id, gen["secret_id"], mount_point=approle)
    ar.delete_role("web", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidPath):
        ar.read_role("web", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        anon(dev_server).auth.approle.login(role_id, "anything", mount_point=approle)


def test_custom_ids_and_destroy(dev_server, root, approle):
    ar = root.auth.approle
    ar.create_or_update_approle("db", mount_point=approle)
    ar.update_role_id("db", "my-role-id", mount_point=approle)
    assert ar.read_role_id("db", mount_point=approle)["data"]["role_id"] == "my-role-id"
    out = ar.create_custom_secret_id("db", "my-secret-id-123", mount_point=approle)["data"]
    assert out["secret_id"] == "my-secret-id-123"
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already registered"):
        ar.create_custom_secret_id("db", "my-secret-id-123", mount_point=approle)
    anon(dev_server).auth.approle.login("my-role-id", "my-secret-id-123", mount_point=approle)
    ar.destroy_secret_id("db", "my-secret-id-123", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        anon(dev_server).auth.approle.login("my-role-id", "my-secret-id-123", mount_point=approle)
    # a role_id in use by another role is refused
    ar.create_or_update_approle("other", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already in use"):
        ar.update_role_id("other", "my-role-id", mount_point=approle)


def test_secret_id_num_uses_run_out(dev_server, root, approle):
    role_id, secret_id = role_and_secret(root, approle, secret_id_num_uses=2)
    for _ in range(2):
        anon(dev_server).auth.approle.login(role_id, secret_id, mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        anon(dev_server).auth.approle.login(role_id, secret_id, mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidPath):  # the used-up secret ID is gone
        root.auth.approle.list_secret_id_accessors("app", mount_point=approle)


def test_secret_id_expires(dev_server, root, approle):
    role_id, _ = role_and_secret(root, approle)
    secret_id = root.write(f"auth/{approle}/role/app/secret-id", ttl=1)["data"]["secret_id"]
    time.sleep(2.2)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        anon(dev_server).auth.approle.login(role_id, secret_id, mount_point=approle)


def test_tidy_removes_expired_secret_ids(root, approle):
    role_and_secret(root, approle)
    root.write(f"auth/{approle}/role/app/secret-id", ttl=1)
    assert len(root.auth.approle.list_secret_id_accessors("app", mount_point=approle)["data"]["keys"]) == 2
    time.sleep(2.2)
    resp = root.write(f"auth/{approle}/tidy/secret-id")
    assert "removed 1" in resp["warnings"][0]
    assert len(root.auth.approle.list_secret_id_accessors("app", mount_point=approle)["data"]["keys"]) == 1


def test_secret_id_limits_cannot_exceed_the_role(root, approle):
    role_and_secret(root, approle, secret_id_ttl=60, secret_id_num_uses=3)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="secret_id_ttl"):
        root.write(f"auth/{approle}/role/app/secret-id", ttl=120)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="secret_id_num_uses"):
        root.write(f"auth/{approle}/role/app/secret-id", num_uses=4)


def test_cidr_restrictions(dev_server, root, approle):
    role_id, _ = role_and_secret(root, approle, secret_id_bound_cidrs=["10.0.0.0/8", "127.0.0.0/8"])
    out = root.auth.approle.generate_secret_id("app", cidr_list=["10.1.0.0/16"], mount_point=approle)["data"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="CIDR restrictions on the secret ID"):
        anon(dev_server).auth.approle.login(role_id, out["secret_id"], mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="subset"):
        root.auth.approle.generate_secret_id("app", cidr_list=["192.168.0.0/16"], mount_point=approle)
    ok = root.auth.approle.generate_secret_id("app", cidr_list=["127.0.0.1/32"], mount_point=approle)["data"]
    anon(dev_server).auth.approle.login(role_id, ok["secret_id"], mount_point=approle)
    # the role's own CIDRs
    root.auth.approle.create_or_update_approle("app", secret_id_bound_cidrs=["10.0.0.0/8"], mount_point=approle)
    sid = root.auth.approle.generate_secret_id("app", mount_point=approle)["data"]["secret_id"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="CIDR restrictions on the role"):
        anon(dev_server).auth.approle.login(role_id, sid, mount_point=approle)


def test_token_bound_cidrs_bind_the_token(dev_server, root, approle):
    role_id, secret_id = role_and_secret(root, approle, token_bound_cidrs=["10.0.0.0/8"])
    client = anon(dev_server)
    client.auth.approle.login(role_id, secret_id, mount_point=approle)
    with pytest.raises(hvac.exceptions.Forbidden):  # the token is unusable from 127.0.0.1
        client.auth.token.lookup_self()


def test_bind_secret_id_false_needs_another_constraint(dev_server, root, approle):
    with pytest.raises(hvac.exceptions.InvalidRequest, match="at least one constraint"):
        root.auth.approle.create_or_update_approle("open", bind_secret_id=False, mount_point=approle)
    root.auth.approle.create_or_update_approle("open", bind_secret_id=False, secret_id_bound_cidrs=["127.0.0.1/32"],
                                               mount_point=approle)
    role_id = root.auth.approle.read_role_id("open", mount_point=approle)["data"]["role_id"]
    auth = anon(dev_server).auth.approle.login(role_id, mount_point=approle)["auth"]
    assert auth["metadata"] == {"role_name": "open"}


def test_bad_input(dev_server, root, approle):
    role_id, _ = role_and_secret(root, approle)
    login = f"/v1/auth/{approle}/login"
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing role_id"):
        anon(dev_server).adapter.post(login, json={})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing secret_id"):
        anon(dev_server).adapter.post(login, json={"role_id": role_id})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        anon(dev_server).adapter.post(login, json={"role_id": "nope", "secret_id": "nope"})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="secret_id_num_uses"):
        root.write(f"auth/{approle}/role/app", secret_id_num_uses="lots")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="CIDR"):
        root.write(f"auth/{approle}/role/app", secret_id_bound_cidrs="300.1.1.1/8")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="does not exist"):
        root.write(f"auth/{approle}/role/missing/secret-id")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.approle.read_role_id("missing", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidPath, match="failed to find accessor"):
        root.auth.approle.read_secret_id_accessor("app", "no-such-accessor", mount_point=approle)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="metadata"):
        root.write(f"auth/{approle}/role/app/secret-id", metadata="not json")
    assert root.auth.approle.read_role("app", mount_point=approle)["data"]["bind_secret_id"] is True


def test_secret_ids_are_not_stored_in_clear(dev_server, root, approle):
    role_and_secret(root, approle)
    secret_id = root.auth.approle.create_custom_secret_id("app", "findme-0123456789", mount_point=approle)
    assert secret_id["data"]["secret_id"] == "findme-0123456789"
    # storage keys are readable in the database file (values are encrypted): none may carry the secret ID
    db = sqlite3.connect(f"file:{os.path.join(dev_server.data_dir, 'strongroom.db')}?mode=ro", uri=True)
    try:
        keys = [k for (k,) in db.execute("SELECT key FROM entries")]
    finally:
        db.close()
    assert any("/secret_id/" in k for k in keys)
    assert not any("findme" in k for k in keys)


def test_response_wrapped_secret_id(dev_server, root, approle):
    role_id, _ = role_and_secret(root, approle)
    wrapped = root.auth.approle.generate_secret_id("app", wrap_ttl="60s", mount_point=approle)
    assert wrapped["wrap_info"]["ttl"] == 60 and wrapped["data"] is None
    unwrapped = hvac.Client(url=dev_server.addr).sys.unwrap(wrapped["wrap_info"]["token"])
    secret_id = unwrapped["data"]["secret_id"]
    anon(dev_server).auth.approle.login(role_id, secret_id, mount_point=approle)


def test_bao_cli(dev_server, approle):
    run_cli(dev_server, "write", f"auth/{approle}/role/cli", "token_policies=reader", "secret_id_num_uses=1")
    role_id = run_cli(dev_server, "read", "-field=role_id", f"auth/{approle}/role/cli/role-id").stdout.strip()
    secret_id = run_cli(dev_server, "write", "-f", "-field=secret_id",
                        f"auth/{approle}/role/cli/secret-id").stdout.strip()
    out = run_cli(dev_server, "write", "-format=json", f"auth/{approle}/login", f"role_id={role_id}",
                  f"secret_id={secret_id}", token="").stdout
    assert json.loads(out)["auth"]["metadata"] == {"role_name": "cli"}
    again = run_cli(dev_server, "write", f"auth/{approle}/login", f"role_id={role_id}", f"secret_id={secret_id}",
                    token="", check=False)
    assert again.returncode != 0 and "invalid role or secret ID" in again.stderr


def test_concurrent_logins_cannot_overspend_a_secret_id(dev_server, root, approle):
    import concurrent.futures

    import httpx

    role_id, _ = role_and_secret(root, approle)
    secret_id = root.write(f"auth/{approle}/role/app/secret-id", num_uses=3)["data"]["secret_id"]

    def attempt(_: int) -> int:
        return httpx.post(f"{dev_server.addr}/v1/auth/{approle}/login",
                          json={"role_id": role_id, "secret_id": secret_id}, timeout=60).status_code

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(attempt, range(12)))
    assert sorted(codes) == [200] * 3 + [400] * 9


def test_renewal_reapplies_the_role_and_needs_it(dev_server, root, approle):
    role_id, secret_id = role_and_secret(root, approle, token_ttl="5m", token_max_ttl="1h")
    client = anon(dev_server)
    client.auth.approle.login(role_id, secret_id, mount_point=approle)
    root.auth.approle.create_or_update_approle("app", token_ttl="7m", token_max_ttl="1h", mount_point=approle)
    assert client.auth.token.renew_self()["auth"]["lease_duration"] == 420
    root.auth.approle.delete_role("app", mount_point=approle)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.renew_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_self()


def test_role_property_endpoints(root, approle):
    role_and_secret(root, approle, token_policies=["a"], secret_id_num_uses=2)
    base = f"auth/{approle}/role/app"
    assert root.read(f"{base}/policies")["data"] == {"token_policies": ["a"]}
    root.write(f"{base}/policies", token_policies="b,c")
    assert root.read(f"{base}/policies")["data"]["token_policies"] == ["b", "c"]
    root.write(f"{base}/secret-id-num-uses", secret_id_num_uses=7)
    assert root.read(f"{base}/secret-id-num-uses")["data"] == {"secret_id_num_uses": 7}
    root.delete(f"{base}/secret-id-num-uses")
    assert root.read(f"{base}/secret-id-num-uses")["data"] == {"secret_id_num_uses": 0}
    root.write(f"{base}/token-ttl", token_ttl="10m")
    assert root.read(f"{base}")["data"]["token_ttl"] == 600
    assert root.read(f"{base}/local-secret-ids")["data"] == {"local_secret_ids": False}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="token_max_ttl"):
        root.write(f"{base}/token-max-ttl", token_max_ttl="1m")  # below token_ttl: refused, nothing changes
    assert root.read(f"{base}")["data"]["token_max_ttl"] == 0
    with pytest.raises(hvac.exceptions.InvalidRequest, match="at least one constraint"):
        root.write(f"{base}/bind-secret-id", bind_secret_id=False)
    assert root.read(f"auth/{approle}/role/nope/policies") is None
    assert root.read(f"{base}/token-bound-cidrs")["data"] == {"token_bound_cidrs": None}
    root.write(f"{base}/policies", policies="old-style")  # written under the deprecated name: shown under both
    assert root.read(f"{base}/policies")["data"] == {"policies": ["old-style"], "token_policies": ["old-style"]}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="does not exist"):
        root.write(f"auth/{approle}/role/nope/policies", token_policies="x")
