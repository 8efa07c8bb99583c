"""Kubernetes auth through a real `strongroom server -dev` and a fake API server that really verifies JWTs."""

from __future__ import annotations

import json
import time

import hvac
import hvac.exceptions
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.auth import kubeapi
from tests.auth.conftest import anon
from tests.harness import run_cli
from tests.services import free_port


@pytest.fixture
def k8s(root, k8s_mount, kube):
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt,
                                   mount_point=k8s_mount)
    return k8s_mount


def login(server, mount: str, role: str, jwt: str) -> dict:
    return anon(server).auth.kubernetes.login(role, jwt, mount_point=mount)


def raw_login(server, mount: str, body: dict) -> tuple[int, dict]:
    import httpx

    r = httpx.post(f"{server.addr}/v1/auth/{mount}/login", json=body, timeout=30)
    return r.status_code, r.json()


def test_config_and_roles_with_hvac(root, k8s, kube):
    cfg = root.auth.kubernetes.read_config(mount_point=k8s)
    assert cfg["kubernetes_host"] == kube.url and cfg["kubernetes_ca_cert"] == kube.ca_pem
    assert "token_reviewer_jwt" not in cfg and cfg["token_reviewer_jwt_set"] is True
    assert cfg["disable_iss_validation"] is True
    root.auth.kubernetes.create_role("web", ["web-*"], ["prod", "stage"], ttl="1h", policies=["read"],
                                     audience="strongroom", mount_point=k8s)
    role = root.auth.kubernetes.read_role("web", mount_point=k8s)
    assert role["bound_service_account_names"] == ["web-*"]
    assert role["bound_service_account_namespaces"] == ["prod", "stage"]
    assert role["token_ttl"] == 3600 and role["token_policies"] == ["read"] and role["audience"] == "strongroom"
    assert role["alias_name_source"] == "serviceaccount_uid"
    assert root.auth.kubernetes.list_roles(mount_point=k8s)["keys"] == ["web"]
    root.auth.kubernetes.delete_role("web", mount_point=k8s)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.kubernetes.read_role("web", mount_point=k8s)


def test_projected_token_login(dev_server, root, k8s, kube):
    uid = kube.cluster.add_sa("prod", "web-frontend")
    pod_uid = kube.cluster.add_pod("prod", "web-frontend-7d9f")
    root.auth.kubernetes.create_role("web", ["web-*"], ["prod"], policies=["read"], mount_point=k8s)
    jwt = kube.cluster.token("prod", "web-frontend", pod="web-frontend-7d9f")
    auth = login(dev_server, k8s, "web", jwt)["auth"]
    assert auth["metadata"] == {"role": "web", "service_account_name": "web-frontend",
                                "service_account_namespace": "prod", "service_account_secret_name": "",
                                "service_account_uid": uid, "pod_name": "web-frontend-7d9f", "pod_uid": pod_uid}
    assert auth["policies"] == ["default", "read"]
    assert auth["lease_duration"] == 768 * 3600 and auth["renewable"] is True


def test_legacy_secret_token_login(dev_server, root, k8s, kube):
    uid = kube.cluster.add_sa("default", "vault-auth")
    root.auth.kubernetes.create_role("legacy", ["vault-auth"], ["default"], mount_point=k8s)
    auth = login(dev_server, k8s, "legacy", kube.cluster.token("default", "vault-auth", legacy=True))["auth"]
    assert auth["metadata"]["service_account_secret_name"] == "vault-auth-token-abcde"
    assert auth["metadata"]["service_account_uid"] == uid
    client = anon(dev_server)
    client.auth.kubernetes.login("legacy", kube.cluster.token("default", "vault-auth", legacy=True),
                                 mount_point=k8s)
    assert client.auth.token.lookup_self()["data"]["display_name"] == f"{k8s}-default-vault-auth"


def test_bound_name_and_namespace_globs(dev_server, root, k8s, kube):
    for ns, name in (("team-a", "api"), ("team-b", "api"), ("other", "api"), ("team-a", "worker")):
        kube.cluster.add_sa(ns, name)
    root.auth.kubernetes.create_role("teams", ["ap*"], ["team-*"], mount_point=k8s)
    login(dev_server, k8s, "teams", kube.cluster.token("team-a", "api"))
    login(dev_server, k8s, "teams", kube.cluster.token("team-b", "api"))
    for ns, name in (("other", "api"), ("team-a", "worker")):
        status, body = raw_login(dev_server, k8s, {"role": "teams", "jwt": kube.cluster.token(ns, name)})
        assert (status, body) == (403, {"errors": ["permission denied"]})


def test_errors_are_exactly_the_contracts(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "svc")
    root.auth.kubernetes.create_role("svc", ["svc"], ["prod"], mount_point=k8s)
    assert raw_login(dev_server, k8s, {"role": "nope", "jwt": "x.y.z"}) == \
        (400, {"errors": ["invalid role name \"nope\""]})
    assert raw_login(dev_server, k8s, {"jwt": "x"}) == (400, {"errors": ["missing role"]})
    assert raw_login(dev_server, k8s, {"role": "svc"}) == (400, {"errors": ["missing jwt"]})
    for junk in ("not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", kube.cluster.token("prod", "svc") + "x"):
        assert raw_login(dev_server, k8s, {"role": "svc", "jwt": junk}) == (403, {"errors": ["permission denied"]})


def test_audience(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "aud")
    root.auth.kubernetes.create_role("aud", ["aud"], ["prod"], audience="strongroom", mount_point=k8s)
    login(dev_server, k8s, "aud", kube.cluster.token("prod", "aud", aud=["strongroom"]))
    status, _ = raw_login(dev_server, k8s, {"role": "aud", "jwt": kube.cluster.token("prod", "aud", aud=["other"])})
    assert status == 403
    # without a role audience the JWT's own audience goes to TokenReview
    root.auth.kubernetes.create_role("anyaud", ["aud"], ["prod"], mount_point=k8s)
    login(dev_server, k8s, "anyaud", kube.cluster.token("prod", "aud", aud=["strongroom"]))


def test_expired_jwt(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "old")
    root.auth.kubernetes.create_role("old", ["old"], ["prod"], mount_point=k8s)
    jwt = kube.cluster.token("prod", "old", ttl=600, iat=time.time() - 3600)
    assert raw_login(dev_server, k8s, {"role": "old", "jwt": jwt})[0] == 403


def test_deleted_or_recreated_service_account(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "gone")
    root.auth.kubernetes.create_role("gone", ["gone"], ["prod"], mount_point=k8s)
    jwt = kube.cluster.token("prod", "gone")
    kube.cluster.add_sa("prod", "gone")  # recreated: same name, new uid
    assert raw_login(dev_server, k8s, {"role": "gone", "jwt": jwt})[0] == 403
    with kube.cluster.lock:
        del kube.cluster.service_accounts[("prod", "gone")]
    assert raw_login(dev_server, k8s, {"role": "gone", "jwt": kube.cluster.token("prod", "gone")})[0] == 403


def test_deleted_pod(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "podsa")
    kube.cluster.add_pod("prod", "p1")
    root.auth.kubernetes.create_role("podsa", ["podsa"], ["prod"], mount_point=k8s)
    jwt = kube.cluster.token("prod", "podsa", pod="p1")
    login(dev_server, k8s, "podsa", jwt)
    with kube.cluster.lock:
        del kube.cluster.pods[("prod", "p1")]
    assert raw_login(dev_server, k8s, {"role": "podsa", "jwt": jwt})[0] == 403


def test_bad_ca_and_unreachable_api(dev_server, root, k8s_mount, kube):
    kube.cluster.add_sa("prod", "tls")
    _, other_ca = kubeapi.make_ca("someone-else")
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kubeapi.pem(other_ca),
                                   token_reviewer_jwt=kube.reviewer_jwt, mount_point=k8s_mount)
    root.auth.kubernetes.create_role("tls", ["tls"], ["prod"], mount_point=k8s_mount)
    jwt = kube.cluster.token("prod", "tls")
    assert raw_login(dev_server, k8s_mount, {"role": "tls", "jwt": jwt}) == (403, {"errors": ["permission denied"]})
    root.auth.kubernetes.configure(f"https://127.0.0.1:{free_port()}", kubernetes_ca_cert=kube.ca_pem,
                                   token_reviewer_jwt=kube.reviewer_jwt, mount_point=k8s_mount)
    assert raw_login(dev_server, k8s_mount, {"role": "tls", "jwt": jwt})[0] == 403
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt,
                                   mount_point=k8s_mount)
    login(dev_server, k8s_mount, "tls", jwt)


def test_without_reviewer_jwt_the_login_jwt_is_the_bearer(dev_server, root, k8s_mount, kube):
    kube.cluster.add_sa("prod", "self")
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, disable_local_ca_jwt=True,
                                   mount_point=k8s_mount)
    root.auth.kubernetes.create_role("self", ["self"], ["prod"], mount_point=k8s_mount)
    jwt = kube.cluster.token("prod", "self")
    assert raw_login(dev_server, k8s_mount, {"role": "self", "jwt": jwt})[0] == 403  # not allowed to review
    kube.cluster.reviewers.add(("prod", "self"))  # system:auth-delegator granted to the workload's SA
    login(dev_server, k8s_mount, "self", jwt)


def test_pem_keys_verify_signatures_locally(dev_server, root, k8s_mount, kube):
    kube.cluster.add_sa("prod", "signed")
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt,
                                   pem_keys=[kube.signing_cert_pem()], mount_point=k8s_mount)
    root.auth.kubernetes.create_role("signed", ["signed"], ["prod"], mount_point=k8s_mount)
    login(dev_server, k8s_mount, "signed", kube.cluster.token("prod", "signed"))
    root.write(f"auth/{k8s_mount}/config", pem_keys=[kube.public_key_pem()])  # a bare public key works too
    login(dev_server, k8s_mount, "signed", kube.cluster.token("prod", "signed"))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = json.loads(kubeapi.b64url_decode(kube.cluster.token("prod", "signed").split(".")[1]))
    before = kube.cluster.reviews
    forged = kubeapi.sign_jwt(forger, claims)
    assert raw_login(dev_server, k8s_mount, {"role": "signed", "jwt": forged})[0] == 403
    assert kube.cluster.reviews == before  # refused locally, the API was not asked


def test_issuer_validation(dev_server, root, k8s_mount, kube):
    kube.cluster.add_sa("prod", "iss")
    root.adapter.post(f"/v1/auth/{k8s_mount}/config", json={
        "kubernetes_host": kube.url, "kubernetes_ca_cert": kube.ca_pem, "token_reviewer_jwt": kube.reviewer_jwt,
        "disable_iss_validation": False, "issuer": "https://elsewhere"})
    root.auth.kubernetes.create_role("iss", ["iss"], ["prod"], mount_point=k8s_mount)
    assert raw_login(dev_server, k8s_mount, {"role": "iss", "jwt": kube.cluster.token("prod", "iss")})[0] == 403
    root.adapter.post(f"/v1/auth/{k8s_mount}/config", json={"issuer": kubeapi.ISSUER})
    login(dev_server, k8s_mount, "iss", kube.cluster.token("prod", "iss"))


def test_namespace_selector(dev_server, root, k8s, kube):
    kube.cluster.add_sa("blue-1", "app")
    kube.cluster.add_sa("green-1", "app")
    with kube.cluster.lock:
        kube.cluster.namespaces["blue-1"] = {"team": "blue"}
    root.write(f"auth/{k8s}/role/sel", bound_service_account_names="app",
               bound_service_account_namespace_selector=json.dumps({"matchLabels": {"team": "blue"}}))
    login(dev_server, k8s, "sel", kube.cluster.token("blue-1", "app"))
    assert raw_login(dev_server, k8s, {"role": "sel", "jwt": kube.cluster.token("green-1", "app")})[0] == 403
    root.write(f"auth/{k8s}/role/sel2", bound_service_account_names="app",
               bound_service_account_namespace_selector="matchExpressions:\n- {key: team, operator: In, "
                                                        "values: [blue, red]}\n")
    login(dev_server, k8s, "sel2", kube.cluster.token("blue-1", "app"))


def test_bad_config_and_role_input(root, k8s_mount):
    with pytest.raises(hvac.exceptions.InvalidRequest, match="no host"):
        root.write(f"auth/{k8s_mount}/config", kubernetes_ca_cert="")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="pem_keys"):
        root.write(f"auth/{k8s_mount}/config", kubernetes_host="https://x", pem_keys="nope")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="compact JWS"):
        root.write(f"auth/{k8s_mount}/config", kubernetes_host="https://x", token_reviewer_jwt="reviewer_jwt")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.kubernetes.read_config(mount_point=k8s_mount)  # nothing was saved
    with pytest.raises(hvac.exceptions.InvalidRequest, match="bound_service_account_names"):
        root.write(f"auth/{k8s_mount}/role/r", bound_service_account_namespaces="x")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="bound_service_account_namespaces"):
        root.write(f"auth/{k8s_mount}/role/r", bound_service_account_names="x")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="mix"):
        root.write(f"auth/{k8s_mount}/role/r", bound_service_account_names="*,a", bound_service_account_namespaces="x")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="alias_name_source"):
        root.write(f"auth/{k8s_mount}/role/r", bound_service_account_names="a", bound_service_account_namespaces="x",
                   alias_name_source="pod")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="selector"):
        root.write(f"auth/{k8s_mount}/role/r", bound_service_account_names="a",
                   bound_service_account_namespace_selector="{not: [valid")
    assert root.read(f"auth/{k8s_mount}/role/r") is None


def test_unreadable_ca_is_a_warning_then_a_denied_login(dev_server, root, k8s_mount, kube):
    kube.cluster.add_sa("prod", "badca")
    resp = root.write(f"auth/{k8s_mount}/config", kubernetes_host=kube.url, kubernetes_ca_cert="not a cert",
                      token_reviewer_jwt=kube.reviewer_jwt)  # Vault accepts it too (hvac's tests rely on that)
    assert "no readable PEM certificate" in resp["warnings"][0]
    root.auth.kubernetes.create_role("badca", ["badca"], ["prod"], mount_point=k8s_mount)
    assert raw_login(dev_server, k8s_mount, {"role": "badca", "jwt": kube.cluster.token("prod", "badca")}) == \
        (403, {"errors": ["permission denied"]})


def test_unconfigured_mount(dev_server, root, k8s_mount, kube):
    root.auth.kubernetes.create_role("r", ["a"], ["b"], mount_point=k8s_mount)
    status, body = raw_login(dev_server, k8s_mount, {"role": "r", "jwt": "a.b.c"})
    assert status == 400 and "configuration" in body["errors"][0]


def test_bao_cli_login(dev_server, k8s, kube):
    kube.cluster.add_sa("prod", "cli")
    run_cli(dev_server, "write", f"auth/{k8s}/role/cli", "bound_service_account_names=cli",
            "bound_service_account_namespaces=prod", "token_policies=reader", "token_ttl=20m")
    out = run_cli(dev_server, "write", "-format=json", f"auth/{k8s}/login", "role=cli",
                  f"jwt={kube.cluster.token('prod', 'cli')}", token="").stdout
    auth = json.loads(out)["auth"]
    assert auth["lease_duration"] == 1200 and "reader" in auth["policies"]


def test_renew_revokes_when_service_account_deleted(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "renew")
    root.auth.kubernetes.create_role("renew", ["renew"], ["prod"], ttl="10m", mount_point=k8s)
    client = anon(dev_server)
    client.auth.kubernetes.login("renew", kube.cluster.token("prod", "renew"), mount_point=k8s)
    client.auth.token.renew_self()  # the service account exists: fine
    with kube.cluster.lock:
        del kube.cluster.service_accounts[("prod", "renew")]
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.renew_self()
    with pytest.raises(hvac.exceptions.Forbidden):  # and the token was revoked
        client.auth.token.lookup_self()


def test_renew_revokes_when_pod_deleted_but_survives_an_api_outage(dev_server, root, k8s, kube):
    kube.cluster.add_sa("prod", "podrenew")
    kube.cluster.add_pod("prod", "pr-1")
    root.auth.kubernetes.create_role("podrenew", ["podrenew"], ["prod"], ttl="10m", mount_point=k8s)
    client = anon(dev_server)
    client.auth.kubernetes.login("podrenew", kube.cluster.token("prod", "podrenew", pod="pr-1"), mount_point=k8s)
    assert client.auth.token.renew_self()["auth"]["lease_duration"] == 600
    root.auth.kubernetes.configure(f"https://127.0.0.1:{free_port()}", kubernetes_ca_cert=kube.ca_pem,
                                   token_reviewer_jwt=kube.reviewer_jwt, mount_point=k8s)
    with pytest.raises(hvac.exceptions.VaultDown):  # 503: renewal fails, the token stays
        client.auth.token.renew_self()
    client.auth.token.lookup_self()
    root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt,
                                   mount_point=k8s)
    with kube.cluster.lock:
        del kube.cluster.pods[("prod", "pr-1")]
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.renew_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_self()
