"""`--cluster` against a small fake Kubernetes API server (list endpoints only), through the real lightkube client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.rbaclint.cluster import ClusterError, load_cluster

RB = "rbac.authorization.k8s.io/v1"
SECRET_VALUE = "c3VwZXItc2VjcmV0"  # must never leave the loader

ITEMS: dict[str, list[dict]] = {
    "/api/v1/namespaces": [{"metadata": {"name": "shop"}}],
    "/api/v1/serviceaccounts": [{"metadata": {"name": "default", "namespace": "shop"}}],
    "/api/v1/secrets": [
        {"metadata": {"name": f"s{i}", "namespace": "shop"}, "type": "Opaque", "data": {"pw": SECRET_VALUE}}
        for i in range(5)
    ],
    "/api/v1/pods": [
        {
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx",
                        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "pw"}}}],
                    }
                ]
            },
        }
    ],
    f"/apis/{RB}/clusterroles": [
        {"metadata": {"name": "reader"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
        {
            "metadata": {"name": "system:controller:x"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
        },
    ],
    f"/apis/{RB}/clusterrolebindings": [
        {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}],
        }
    ],
    f"/apis/{RB}/roles": [],
    f"/apis/{RB}/rolebindings": [],
    "/apis/apps/v1/deployments": [],
    "/apis/apps/v1/daemonsets": [],
    "/apis/apps/v1/statefulsets": [],
    "/apis/batch/v1/cronjobs": [],
    "/apis/networking.k8s.io/v1/networkpolicies": [],
}


class FakeApi(BaseHTTPRequestHandler):
    requests: list[tuple[str, str]] = []
    auth: set[str] = set()

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        FakeApi.requests.append(("GET", url.path))
        FakeApi.auth.add(self.headers.get("Authorization", ""))
        items = ITEMS.get(url.path)
        if items is None:
            self._send(
                404,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "message": "the server could not find the requested resource",
                    "code": 404,
                },
            )
            return
        query = parse_qs(url.query)
        limit = int(query.get("limit", ["0"])[0]) or len(items)
        start = int(query.get("continue", ["0"])[0])
        page = items[start : start + limit]
        meta = {"resourceVersion": "42"}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        self._send(200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page})

    def do_POST(self):  # the linter must never write
        FakeApi.requests.append(("POST", self.path))
        self._send(405, {"kind": "Status", "code": 405})

    do_PUT = do_PATCH = do_DELETE = do_POST


@pytest.fixture()
def api() -> Iterator[str]:
    FakeApi.requests = []
    FakeApi.auth = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_load_cluster_lists_read_only_and_drops_values(api):
    result = load_cluster(server=api, chunk_size=2)
    kinds = {o.kind for o in result.objects}
    assert {"Namespace", "Secret", "Pod", "ClusterRole", "ClusterRoleBinding"} <= kinds
    secrets = [o for o in result.objects if o.kind == "Secret"]
    assert len(secrets) == 5  # paginated in chunks of 2
    assert all(o.raw["data"] == {"pw": ""} and o.from_cluster for o in secrets)
    assert not result.errors  # CRD 404s are skipped quietly
    assert {m for m, _ in FakeApi.requests} == {"GET"}
    assert ("GET", "/apis/bitnami.com/v1alpha1/sealedsecrets") in FakeApi.requests


def test_cli_cluster_json(api):
    result = CliRunner().invoke(cli, ["lint", "--server", api, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1
    assert SECRET_VALUE not in result.output
    doc = json.loads(result.stdout)
    rules = {(f["rule"], f["object"]) for f in doc["findings"]}
    assert ("secrets-list-watch", "ClusterRole/reader") in rules
    assert ("cluster-wide-serviceaccount-grant", "ClusterRoleBinding/reader") in rules
    assert ("secret-in-env", "Pod/shop/web") in rules
    assert not any(r == "committed-secret" for r, _ in rules)  # live Secrets are not "committed"
    assert not any(o == "ClusterRole/system:controller:x" for _, o in rules)
    assert all(f["line"] is None for f in doc["findings"])


def test_cli_who_can_cluster(api):
    result = CliRunner().invoke(
        cli,
        ["lint", "who-can", "read", "secret/s1", "-n", "shop", "--server", api, "--format", "json"],
        catch_exceptions=False,
    )
    subjects = {r["subject"] for r in json.loads(result.output)["subjects"]}
    assert "ServiceAccount shop/default" in subjects


def test_unreachable_cluster_is_a_clear_error():
    with pytest.raises(ClusterError, match="cannot reach"):
        load_cluster(server="http://127.0.0.1:9")
    result = CliRunner().invoke(cli, ["lint", "--server", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "cannot reach the Kubernetes API" in result.output


def test_missing_kubeconfig_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["lint", "--cluster", "--kubeconfig", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "cannot load Kubernetes configuration" in result.output


def test_kubeconfig_context_and_token(api, tmp_path):
    token = "fake-bearer-token-123"
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: other\n"
        f"clusters:\n- name: fake\n  cluster: {{server: '{api}'}}\n- name: nowhere\n  cluster: {{server: 'http://127.0.0.1:9'}}\n"
        f"users:\n- name: reader\n  user: {{token: {token}}}\n"
        "contexts:\n- name: fake\n  context: {cluster: fake, user: reader}\n"
        "- name: other\n  context: {cluster: nowhere, user: reader}\n"
    )
    args = ["lint", "--cluster", "--kubeconfig", str(kubeconfig), "--context", "fake", "--format", "json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert FakeApi.auth == {f"Bearer {token}"}
    assert token not in result.output
