"""Credentials sent to login endpoints never reach the audit log in clear (the core HMACs them)."""

from __future__ import annotations

import os

import hvac

from tests.auth.conftest import anon


def test_login_credentials_are_not_in_the_audit_log(fresh_server, kube):
    root = hvac.Client(url=fresh_server.addr, token=fresh_server.root_token)
    log_path = os.path.join(fresh_server.data_dir, "audit.log")
    root.sys.enable_audit_device("file", options={"file_path": log_path})
    for m in ("userpass", "approle", "kubernetes"):
        root.sys.enable_auth_method(m)
    password = "pw-that-must-not-leak-8472"
    root.auth.userpass.create_or_update_user("u", password)
    anon(fresh_server).auth.userpass.login("u", password)
    root.auth.approle.create_or_update_approle("r")
    role_id = root.auth.approle.read_role_id("r")["data"]["role_id"]
    secret_id = root.auth.approle.create_custom_secret_id("r", "secret-id-that-must-not-leak-1234")["data"]
    anon(fresh_server).auth.approle.login(role_id, secret_id["secret_id"])
    kube.cluster.add_sa("audit", "sa")
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt)
    root.auth.kubernetes.create_role("k", ["sa"], ["audit"])
    jwt = kube.cluster.token("audit", "sa")
    token = anon(fresh_server).auth.kubernetes.login("k", jwt)["auth"]["client_token"]
    with open(log_path, encoding="utf-8") as f:
        log = f.read()
    assert "auth/kubernetes/login" in log
    for secret in (password, "secret-id-that-must-not-leak-1234", jwt, kube.reviewer_jwt, token):
        assert secret not in log
