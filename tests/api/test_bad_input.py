"""Bad input gets a clear 4xx and loses nothing; the server stays healthy. Status codes are checked against OpenBao."""

from __future__ import annotations

import uuid

import httpx
import pytest

ROOT = {"X-Vault-Token": "root"}


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pair(dev_server, bao_server):
    return dev_server, bao_server


def req(server, method: str, path: str, **kw) -> httpx.Response:
    headers = {**ROOT, **kw.pop("headers", {})}
    return httpx.request(method, f"{server.addr}/v1/{path}", headers=headers, timeout=60, **kw)


CASES = [
    # (method, path, raw body, expected status, message fragment)
    ("POST", "secret/data/bad-json", b"{bad", 400, "failed to decode JSON input"),
    ("POST", "secret/data/bad-json", b"[1, 2]", 400, "failed to decode JSON input"),
    ("POST", "auth/token/create", b'{"ttl": "abc"}', 400, ""),
    ("POST", "auth/token/create", b'{"num_uses": "many"}', 400, "num_uses"),
    ("POST", "auth/token/create", b'{"policies": {"a": 1}}', 400, "policies"),
    ("POST", "secret/data/bad-type", b'{"data": "not-a-map"}', 400, ""),
    ("POST", "secret/data/bad-null", b"null", 400, "no data provided"),
    ("GET", "no-such-mount/x", b"", 404, "no handler for route"),
    ("GET", "sys/no-such-endpoint", b"", 404, ""),
    ("POST", "sys/tools/random", b'{"bytes": "lots"}', 400, "bytes"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "fragment"), CASES)
def test_bad_requests_same_status_as_openbao(pair, method, path, body, status, fragment):
    got = []
    for s in pair:
        r = req(s, method, path, content=body, headers={"Content-Type": "application/json"})
        got.append(r.status_code)
        if s is pair[0]:
            assert r.status_code == status, r.text
            errors = r.json()["errors"]
            assert all(isinstance(e, str) and e for e in errors)
            assert errors or status == 404
            assert fragment in " ".join(errors)
    assert got[0] == got[1], f"strongroom {got[0]} vs openbao {got[1]}"


def test_no_token_and_bad_token_are_403(pair):
    for s in pair:
        assert httpx.get(f"{s.addr}/v1/secret/data/x").status_code == 403
        r = req(s, "GET", "secret/data/x", headers={"X-Vault-Token": "s.bogusbogusbogusbogusbogus"})
        assert r.status_code == 403 and r.json()["errors"] == ["permission denied"]
        r = httpx.get(f"{s.addr}/v1/secret/data/x", headers={"Authorization": "Bearer root"})
        assert r.status_code == 404  # Bearer tokens are accepted like X-Vault-Token


def test_unknown_fields_warn(pair):
    for s in pair:
        r = req(s, "POST", "auth/token/create", json={"policies": ["default"], "frobnicate": True})
        assert r.status_code == 200
        assert r.json()["warnings"] == ["Endpoint ignored these unrecognized parameters: [frobnicate]"]
        # a handler that answers nothing answers 204: the warning is dropped, as Vault does
        mount = uid("warn-")
        r = req(s, "POST", f"sys/mounts/{mount}", json={"type": "kv", "frobnicate": True})
        assert r.status_code == 204
        req(s, "DELETE", f"sys/mounts/{mount}")


def test_list_verb_and_query_flag(pair):
    name = uid("ls-")
    for s in pair:
        req(s, "POST", f"secret/data/{name}/a", json={"data": {"k": "v"}})
        req(s, "POST", f"secret/data/{name}/b/c", json={"data": {"k": "v"}})
        a = req(s, "LIST", f"secret/metadata/{name}/")
        b = req(s, "GET", f"secret/metadata/{name}/", params={"list": "true"})
        assert a.status_code == b.status_code == 200
        assert a.json()["data"] == b.json()["data"] == {"keys": ["a", "b/"]}
        assert req(s, "LIST", f"secret/metadata/{uid('none-')}/").status_code == 404


def test_huge_body_is_413_and_server_survives(dev_server):
    big = b'{"data": {"k": "' + b"x" * (33 * 1024 * 1024) + b'"}}'
    r = req(dev_server, "POST", "secret/data/huge", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "exceeds the limit" in r.json()["errors"][0]
    assert httpx.get(f"{dev_server.addr}/v1/sys/health").status_code == 200
    r = req(dev_server, "POST", "secret/data/after-huge", json={"data": {"ok": "1"}})
    assert r.status_code == 200
    assert req(dev_server, "GET", "secret/data/huge").status_code == 404  # nothing half-written


def test_sealed_server_is_503_everywhere_but_sys(fresh_server):
    s = fresh_server
    req(s, "POST", "secret/data/keep", json={"data": {"v": "1"}})
    assert req(s, "POST", "sys/seal").status_code == 204
    for method, path in (("GET", "secret/data/keep"), ("LIST", "secret/metadata/"), ("POST", "auth/token/create"),
                         ("GET", "auth/token/lookup-self"), ("GET", "cubbyhole/x"), ("GET", "no-such-mount/x"),
                         ("GET", "sys/mounts"), ("GET", "sys/policy")):
        r = req(s, method, path)
        assert r.status_code == 503, (method, path, r.status_code)
        assert r.json()["errors"] == ["Vault is sealed"]
    assert httpx.get(f"{s.addr}/v1/sys/seal-status").json()["sealed"] is True
    assert httpx.get(f"{s.addr}/v1/sys/health").status_code == 503
    r = httpx.put(f"{s.addr}/v1/sys/unseal", json={"key": s.unseal_key})
    assert r.json()["sealed"] is False
    assert req(s, "GET", "secret/data/keep").json()["data"]["data"] == {"v": "1"}


def test_patch_needs_merge_patch_content_type(pair):
    name = uid("patch-")
    got = []
    for s in pair:
        req(s, "POST", f"secret/data/{name}", json={"data": {"a": "1"}})
        r = req(s, "PATCH", f"secret/data/{name}", content=b'{"data": {"b": "2"}}',
                headers={"Content-Type": "application/json"})
        got.append(r.status_code)
        r = req(s, "PATCH", f"secret/data/{name}", content=b'{"data": {"b": "2"}}',
                headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200
    assert got[0] == got[1] == 415
