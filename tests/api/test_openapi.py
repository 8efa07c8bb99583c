"""sys/internal/specs/openapi is a valid OpenAPI 3 document covering every mounted path."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate


def fetch(server) -> dict:
    r = httpx.get(f"{server.addr}/v1/sys/internal/specs/openapi", headers={"X-Vault-Token": "root"}, timeout=30)
    assert r.status_code == 200
    return r.json()


def test_openapi_document_is_valid(dev_server):
    doc = fetch(dev_server)
    assert doc["openapi"].startswith("3.")
    validate(doc)  # raises on any schema violation


def test_openapi_covers_mounted_paths(dev_server):
    httpx.post(f"{dev_server.addr}/v1/sys/mounts/oa-kv1", headers={"X-Vault-Token": "root"},
               json={"type": "kv"}).raise_for_status()
    try:
        paths = set(fetch(dev_server)["paths"])
    finally:
        httpx.delete(f"{dev_server.addr}/v1/sys/mounts/oa-kv1", headers={"X-Vault-Token": "root"})
    mounts = httpx.get(f"{dev_server.addr}/v1/sys/mounts", headers={"X-Vault-Token": "root"}).json()["data"]
    for mount in [*mounts, "auth/token/", "oa-kv1/"]:
        assert any(p.startswith("/" + mount) for p in paths), f"no OpenAPI paths under {mount}"
    for expected in ("/sys/mounts", "/sys/seal-status", "/sys/policies/acl/{name}", "/auth/token/create",
                     "/auth/token/lookup-self", "/sys/wrapping/unwrap", "/sys/generate-root-token/attempt"):
        assert expected in paths, expected
    assert any(p.startswith("/secret/data/") for p in paths)
    assert any(p.startswith("/secret/metadata/") for p in paths)
    for p in paths:
        assert "(" not in p and "?" not in p and "\\" not in p and "/." not in p, f"regex residue in {p}"


def test_openapi_operations_have_responses(dev_server):
    doc = fetch(dev_server)
    for path, item in doc["paths"].items():
        for method in ("get", "post", "delete", "patch"):
            if method in item:
                assert "200" in item[method]["responses"] or "204" in item[method]["responses"], (path, method)
        params = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert set(params) == declared, path
