"""The same hvac calls against Strongroom and a real OpenBao: response shapes and error answers must agree."""

from __future__ import annotations

import uuid

import httpx
import hvac
import pytest

# OpenBao-only field we do not serve (a Vault Enterprise-era option OpenBao kept)
IGNORED = {"token_strictly_bind_ip"}


@pytest.fixture
def pair(dev_server, bao_server):
    servers = (dev_server, bao_server)
    clients = tuple(hvac.Client(url=s.addr, token=s.root_token) for s in servers)
    mounts: list[tuple[hvac.Client, str]] = []

    def mount(method: str) -> str:
        path = f"{method}-{uuid.uuid4().hex[:8]}"
        for c in clients:
            c.sys.enable_auth_method(method, path=path)
            mounts.append((c, path))
        return path

    yield servers, clients, mount
    for c, path in mounts:
        c.sys.disable_auth_method(path)


def keys(d: dict | None) -> set[str]:
    return set(d or {}) - IGNORED


def post(server, path: str, body: dict) -> tuple[int, dict]:
    r = httpx.post(f"{server.addr}/v1/{path}", json=body, timeout=30)
    return r.status_code, (r.json() if r.content else {})


def test_userpass_shapes(pair):
    servers, clients, mount = pair
    m = mount("userpass")
    for c in clients:
        c.auth.userpass.create_or_update_user("u", "pw-123456", policies=["a"], mount_point=m)
    ours, theirs = (c.auth.userpass.read_user("u", mount_point=m)["data"] for c in clients)
    assert keys(ours) == keys(theirs) and {k: ours[k] for k in keys(ours)} == {k: theirs[k] for k in keys(ours)}
    logins = [post(s, f"auth/{m}/login/u", {"password": "pw-123456"}) for s in servers]
    assert keys(logins[0][1]["auth"]) == keys(logins[1][1]["auth"])
    assert logins[0][1]["auth"]["metadata"] == logins[1][1]["auth"]["metadata"]
    bad = [post(s, f"auth/{m}/login/u", {"password": "nope"}) for s in servers]
    assert bad[0] == bad[1] == (400, {"errors": ["invalid username or password"]})


def test_approle_shapes(pair):
    servers, clients, mount = pair
    m = mount("approle")
    for c in clients:
        c.auth.approle.create_or_update_approle("r", token_policies=["a"], secret_id_ttl="1h", secret_id_num_uses=3,
                                                mount_point=m)
    ours, theirs = (c.auth.approle.read_role("r", mount_point=m)["data"] for c in clients)
    assert keys(ours) == keys(theirs) and {k: ours[k] for k in keys(ours)} == {k: theirs[k] for k in keys(ours)}
    gen = [c.auth.approle.generate_secret_id("r", metadata={"x": "y"}, cidr_list=["127.0.0.0/8"],
                                              mount_point=m)["data"] for c in clients]
    assert keys(gen[0]) == keys(gen[1])
    assert gen[0]["secret_id_ttl"] == gen[1]["secret_id_ttl"] == 3600
    look = [c.auth.approle.read_secret_id("r", g["secret_id"], mount_point=m)["data"]
            for c, g in zip(clients, gen, strict=True)]
    assert keys(look[0]) == keys(look[1])
    for k in ("cidr_list", "metadata", "secret_id_num_uses", "secret_id_ttl", "token_bound_cidrs"):
        assert look[0][k] == look[1][k], k
    role_ids = [c.auth.approle.read_role_id("r", mount_point=m)["data"]["role_id"] for c in clients]
    logins = [post(s, f"auth/{m}/login", {"role_id": rid, "secret_id": g["secret_id"]})
              for s, rid, g in zip(servers, role_ids, gen, strict=True)]
    assert logins[0][0] == logins[1][0] == 200
    assert logins[0][1]["auth"]["metadata"] == logins[1][1]["auth"]["metadata"]
    assert logins[0][1]["auth"]["policies"] == logins[1][1]["auth"]["policies"]
    bad = [post(s, f"auth/{m}/login", {"role_id": rid, "secret_id": "wrong"}) for s, rid in zip(servers, role_ids,
                                                                                                  strict=True)]
    assert bad[0] == bad[1] == (400, {"errors": ["invalid role or secret ID"]})
    missing = [post(s, f"auth/{m}/login", {"role_id": rid}) for s, rid in zip(servers, role_ids, strict=True)]
    assert missing[0] == missing[1] == (400, {"errors": ["missing secret_id"]})


def test_kubernetes_role_shape_and_unknown_role(pair):
    servers, clients, mount = pair
    m = mount("kubernetes")
    for c in clients:
        c.auth.kubernetes.create_role("r", ["a*"], ["default"], audience="x", policies=["p"], mount_point=m)
    ours, theirs = (c.auth.kubernetes.read_role("r", mount_point=m) for c in clients)
    assert keys(ours) == keys(theirs) and {k: ours[k] for k in keys(ours)} == {k: theirs[k] for k in keys(ours)}
    unknown = [post(s, f"auth/{m}/login", {"role": "nope", "jwt": "a.b.c"}) for s in servers]
    assert unknown[0] == unknown[1] == (400, {"errors": ["invalid role name \"nope\""]})
    for body, msg in (({"jwt": "x"}, "missing role"), ({"role": "r"}, "missing jwt")):
        answers = [post(s, f"auth/{m}/login", body) for s in servers]
        assert answers[0] == answers[1] == (400, {"errors": [msg]})


def test_kubernetes_login_against_the_same_api(pair, kube):
    servers, clients, mount = pair
    m = mount("kubernetes")
    kube.cluster.add_sa("both", "sa")
    for c in clients:
        c.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=kube.reviewer_jwt,
                                    mount_point=m)
        c.auth.kubernetes.create_role("r", ["sa"], ["both"], policies=["p"], ttl="15m", mount_point=m)
    ours, theirs = (c.auth.kubernetes.read_config(mount_point=m) for c in clients)
    assert keys(theirs) <= keys(ours)  # we also show use_annotations_as_alias_metadata, as newer Vault does
    assert {k: ours[k] for k in keys(theirs)} == theirs
    jwt = kube.cluster.token("both", "sa")
    answers = [post(s, f"auth/{m}/login", {"role": "r", "jwt": jwt}) for s in servers]
    assert answers[0][0] == answers[1][0] == 200
    a, b = (ans[1]["auth"] for ans in answers)
    assert a["metadata"] == b["metadata"]
    assert (a["policies"], a["lease_duration"], a["renewable"]) == (b["policies"], b["lease_duration"], b["renewable"])
    unbound = kube.cluster.token("elsewhere", "sa")
    denied = [post(s, f"auth/{m}/login", {"role": "r", "jwt": unbound}) for s in servers]
    assert denied[0][0] == denied[1][0] == 403
