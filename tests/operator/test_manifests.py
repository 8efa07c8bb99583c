"""deploy/: the CRD has no server-side defaults, RBAC has no wildcards, and every API call the operator makes in
an end-to-end run is allowed by exactly those RBAC rules (least privilege, proven rather than claimed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, eventually, start_operator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_crd_matches_upstream_shape_without_defaults() -> None:
    (crd,) = _docs(DEPLOY / "crds" / "bitnami.com_sealedsecrets.yaml")
    assert crd["spec"]["group"] == "bitnami.com" and crd["spec"]["names"]["plural"] == "sealedsecrets"
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    assert [c["jsonPath"] for c in version["additionalPrinterColumns"][:2]] == [
        ".status.conditions[0].message", ".status.conditions[0].status"]
    assert not [k for k, _ in _walk(version["schema"]) if k == "default"]


def _rules() -> list[tuple[str | None, dict[str, Any]]]:
    out: list[tuple[str | None, dict[str, Any]]] = []
    for doc in _docs(DEPLOY / "operator" / "rbac.yaml"):
        if doc["kind"] in ("ClusterRole", "Role"):
            ns = doc["metadata"].get("namespace") if doc["kind"] == "Role" else None
            out += [(ns, rule) for rule in doc["rules"]]
    return out


def test_rbac_has_no_wildcards_and_no_secret_delete() -> None:
    for _, rule in _rules():
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field]
        if "secrets" in rule["resources"]:
            assert "delete" not in rule["verbs"] and "deletecollection" not in rule["verbs"]


def test_deployment_is_hardened() -> None:
    dep = next(d for d in _docs(DEPLOY / "operator" / "deployment.yaml") if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == [
        "ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    svc = next(d for d in _docs(DEPLOY / "operator" / "deployment.yaml")
               if d["kind"] == "Service" and d["metadata"]["name"] == "sealed-secrets-controller")
    assert svc["spec"]["ports"][0]["name"] == "http"  # kubeseal reads the first port's name


def _request_to_attrs(method: str, target: str) -> tuple[str, str, str, str | None, str | None]:
    url = urlsplit(target)
    parts = [p for p in url.path.split("/") if p]
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    name = rest[1] if len(rest) > 1 else None
    watch = parse_qs(url.query).get("watch") == ["true"]
    verb = {"GET": "watch" if watch else ("get" if name else "list"), "POST": "create", "PUT": "update",
            "PATCH": "patch", "DELETE": "delete"}[method]
    return verb, group, resource, ns, name


def _allowed(verb: str, group: str, resource: str, ns: str | None, name: str | None) -> bool:
    for role_ns, rule in _rules():
        if role_ns is not None and role_ns != ns:
            continue
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            names = rule.get("resourceNames")
            if not names or name in names:
                return True
    return False


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


def test_every_call_of_an_end_to_end_run_is_allowed_by_rbac(fake: FakeKube) -> None:
    from tests.operator.test_sealedsecret import _sealed

    async def scenario() -> None:
        op = await start_operator(fake, identity="rbac", leader_election=True)
        try:
            await eventually(lambda: op.runtime.leading, what="leader")
            fake.put("sealedsecrets", await _sealed(op), group="bitnami.com")
            await eventually(lambda: fake.get("secrets", "db", "app"), what="Secret")
            await op.app.rotate()
            await eventually(lambda: (fake.get("sealedsecrets", "db", "app", group="bitnami.com") or {}).get(
                "status"), what="status")
        finally:
            await op.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    calls = {_request_to_attrs(m, p) for m, p in fake.requests}
    denied = sorted(c for c in calls if not _allowed(*c))
    assert not denied, f"calls outside deploy/operator/rbac.yaml: {denied}"
    assert any(c[0] == "update" and c[2] == "leases" for c in calls)  # the run did exercise election
    assert all(c[3] == CTRL_NS for c in calls if c[2] == "leases")
