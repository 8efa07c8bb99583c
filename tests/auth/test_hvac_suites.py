"""The call sequences and assertions of hvac's own integration tests for userpass, approle and kubernetes
(hvac/hvac tests/integration_tests/api/auth_methods/), rewritten for pytest against a Strongroom dev server.
Where Strongroom deliberately differs, the test says so.
"""

from __future__ import annotations

import uuid

import hvac
import hvac.exceptions
import pytest

DUMMY_CA = "-----BEGIN CERTIFICATE-----\\n.....\\n-----END CERTIFICATE-----"  # hvac's: not a parseable cert


@pytest.fixture
def client(dev_server):
    return hvac.Client(url=dev_server.addr, token=dev_server.root_token)


@pytest.fixture
def mount(dev_server):
    admin = hvac.Client(url=dev_server.addr, token=dev_server.root_token)  # logins switch `client`'s token
    paths = []

    def enable(method: str) -> str:
        path = f"{method}-hvac-{uuid.uuid4().hex[:6]}"
        admin.sys.enable_auth_method(method_type=method, path=path)
        paths.append(path)
        return path

    yield enable
    for p in paths:
        admin.sys.disable_auth_method(path=p)


# --- userpass -------------------------------------------------------------------------------------------------

def test_userpass_auth_and_ttl(dev_server, client, mount):
    m = mount("userpass")
    client.write(f"auth/{m}/users/testuser", password="testpass", policies="not_root")
    result = client.auth.userpass.login("testuser", "testpass", mount_point=m)
    assert client.token == result["auth"]["client_token"] and client.is_authenticated()
    client.token = dev_server.root_token
    client.auth.userpass.create_or_update_user("testuser", "testpass", policies="not_root", ttl="10s",
                                               mount_point=m)
    assert client.auth.userpass.login("testuser", "testpass", mount_point=m)["auth"]["lease_duration"] == 10


def test_userpass_list_read_update_delete(dev_server, client, mount):
    m = mount("userpass")
    for name in ("testuserone", "testusertwo"):
        client.auth.userpass.create_or_update_user(name, f"{name}pass", policies="not_root", mount_point=m)
    users = client.auth.userpass.list_user(mount_point=m)["data"]["keys"]
    assert {"testuserone", "testusertwo"} <= set(users)
    assert "not_root" in client.auth.userpass.read_user("testuserone", mount_point=m)["data"]["policies"]
    client.auth.userpass.create_or_update_user("testuserone", policies="somethingelse", mount_point=m)
    assert "somethingelse" in client.auth.userpass.read_user("testuserone", mount_point=m)["data"]["policies"]
    client.auth.userpass.update_password_on_user("testusertwo", "mynewpassword", mount_point=m)
    client.auth.userpass.login("testusertwo", "mynewpassword", mount_point=m)
    client.token = dev_server.root_token
    for name in users:
        client.auth.userpass.delete_user(name, mount_point=m)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.userpass.list_user(mount_point=m)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.auth.userpass.login("testusertwo", "mynewpassword", mount_point=m)


# --- approle --------------------------------------------------------------------------------------------------

@pytest.fixture
def approle(client, mount):
    m = mount("approle")
    client.auth.approle.create_or_update_approle("testrole", token_policies=["default"], mount_point=m)
    client.auth.approle.update_role_id("testrole", "test_role_id", mount_point=m)
    return m


def secret(client, m):
    return client.auth.approle.generate_secret_id("testrole", cidr_list=["127.0.0.1/32"], mount_point=m)["data"]


def test_approle_roles(client, approle):
    assert client.auth.approle.create_or_update_approle("testrole2", token_policies=["default"],
                                                        mount_point=approle)
    with pytest.raises(hvac.exceptions.ParamValidationError, match="unsupported token_type"):
        client.auth.approle.create_or_update_approle("testrole3", token_type="bad_token", mount_point=approle)
    assert len(client.auth.approle.list_roles(mount_point=approle)["data"]["keys"]) == 2
    assert client.auth.approle.read_role("testrole", mount_point=approle)["data"]["token_type"] == "default"
    assert client.auth.approle.read_role_id("testrole", mount_point=approle)["data"]["role_id"] == "test_role_id"
    assert client.auth.approle.delete_role("testrole2", mount_point=approle).status_code == 204


def test_approle_secret_ids(client, approle):
    with pytest.raises(hvac.exceptions.ParamValidationError, match="unsupported metadata argument"):
        client.auth.approle.generate_secret_id("testrole", metadata="metadata string", mount_point=approle)
    assert "secret_id" in secret(client, approle)
    custom = client.auth.approle.create_custom_secret_id("testrole", "custom_secret", cidr_list=["127.0.0.1/32"],
                                                         mount_point=approle)
    assert custom["data"]["secret_id"] == "custom_secret"
    s = secret(client, approle)
    read = client.auth.approle.read_secret_id("testrole", s["secret_id"], mount_point=approle)
    assert read["data"]["secret_id_num_uses"] == 0
    assert len(client.auth.approle.list_secret_id_accessors("testrole", mount_point=approle)["data"]["keys"]) == 3
    by_acc = client.auth.approle.read_secret_id_accessor("testrole", s["secret_id_accessor"], mount_point=approle)
    assert by_acc["data"]["secret_id_accessor"] == s["secret_id_accessor"]
    assert by_acc["data"]["cidr_list"][0] == "127.0.0.1/32"
    assert client.auth.approle.destroy_secret_id_accessor("testrole", s["secret_id_accessor"],
                                                          mount_point=approle).status_code == 204
    assert client.auth.approle.destroy_secret_id("testrole", "custom_secret", mount_point=approle).status_code == 204


def test_approle_login(client, approle):
    s = secret(client, approle)
    response = client.auth.approle.login(role_id="test_role_id", secret_id=s["secret_id"], mount_point=approle)
    assert "client_token" in response["auth"]


# --- kubernetes -----------------------------------------------------------------------------------------------

def test_kubernetes_configure_and_read(client, mount):
    m = mount("kubernetes")
    host = "https://192.168.99.100:8443"
    assert client.auth.kubernetes.configure(kubernetes_host=host, kubernetes_ca_cert=DUMMY_CA, issuer="bob",
                                            mount_point=m)
    with pytest.raises(hvac.exceptions.ParamValidationError, match="required type: PEM"):
        client.auth.kubernetes.configure(kubernetes_host=host, kubernetes_ca_cert="ca_cert", mount_point=m)
    with pytest.raises(hvac.exceptions.ParamValidationError, match="required type: PEM"):
        client.auth.kubernetes.configure(kubernetes_host=host, kubernetes_ca_cert=DUMMY_CA, pem_keys=["pem_key"],
                                         mount_point=m)
    # hvac expects Vault's 500 "not a compact JWS" here; bad input is a 400 in Strongroom
    with pytest.raises(hvac.exceptions.InvalidRequest, match="not a compact JWS"):
        client.auth.kubernetes.configure(kubernetes_host=host, kubernetes_ca_cert=DUMMY_CA,
                                         token_reviewer_jwt="reviewer_jwt", issuer="bob", mount_point=m)
    expected = {"kubernetes_host": host, "kubernetes_ca_cert": DUMMY_CA, "issuer": "stanley"}
    client.auth.kubernetes.configure(mount_point=m, **expected)
    config = client.auth.kubernetes.read_config(mount_point=m)
    assert {k: config[k] for k in expected} == expected


def test_kubernetes_read_config_before_any(client, mount):
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.kubernetes.read_config(mount_point=mount("kubernetes"))


def test_kubernetes_roles(client, mount):
    m = mount("kubernetes")
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.kubernetes.list_roles(mount_point=m)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.auth.kubernetes.read_role("test-role", mount_point=m)
    assert client.auth.kubernetes.create_role("test-role", ["vault-auth"], ["default"], mount_point=m)
    role = client.auth.kubernetes.read_role("test-role", mount_point=m)
    assert role["bound_service_account_names"] == ["vault-auth"]
    assert role["bound_service_account_namespaces"] == ["default"]
    client.auth.kubernetes.create_role("hvac0", ["vault-auth"], ["default"], mount_point=m)  # no config needed
    assert client.auth.kubernetes.list_roles(mount_point=m)["keys"] == ["hvac0", "test-role"]
    assert client.auth.kubernetes.delete_role("test-role", mount_point=m)
    assert client.auth.kubernetes.delete_role("nonexistent", mount_point=m)
    # older hvac refused both bounds "*" client-side; the API (like current Vault) accepts it
    assert client.auth.kubernetes.create_role("any", ["*"], ["*"], mount_point=m)
