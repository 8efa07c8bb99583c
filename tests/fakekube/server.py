"""A real HTTP server on 127.0.0.1 that speaks enough of the Kubernetes API for controller tests.

Start it with `FakeKube()` as a context manager; point lightkube at it with `fake.config()` or
`fake.write_kubeconfig(path)`. Register a custom resource in one line with `fake.register(...)`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.fakekube.semantics import SelectorError, label_matches
from tests.fakekube.store import ApiStatusError, Obj, Resource, Store

BUILTINS = [
    Resource("", "v1", "Namespace", "namespaces", namespaced=False, status_subresource=True),
    Resource("", "v1", "Secret", "secrets"),
    Resource("", "v1", "ConfigMap", "configmaps"),
    Resource("", "v1", "ServiceAccount", "serviceaccounts"),
    Resource("", "v1", "Pod", "pods", status_subresource=True),
    Resource("", "v1", "Event", "events"),
    Resource("", "v1", "Service", "services", status_subresource=True),
    Resource("apps", "v1", "Deployment", "deployments", status_subresource=True),
    Resource("apps", "v1", "StatefulSet", "statefulsets", status_subresource=True),
    Resource("apps", "v1", "DaemonSet", "daemonsets", status_subresource=True),
    Resource("coordination.k8s.io", "v1", "Lease", "leases"),
    Resource("events.k8s.io", "v1", "Event", "events"),
    Resource("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets", status_subresource=True),
    Resource("external-secrets.io", "v1", "ExternalSecret", "externalsecrets", status_subresource=True),
    Resource("external-secrets.io", "v1", "SecretStore", "secretstores", status_subresource=True),
    Resource("external-secrets.io", "v1", "ClusterSecretStore", "clustersecretstores", namespaced=False,
             status_subresource=True),
]


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # the default 5 drops connections when a client opens many at once


@dataclass
class FaultRule:
    remaining: int
    code: int
    method: str | None
    path: str | None

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and (self.method in (None, method)) and (self.path is None or self.path in path)


_REASONS = {409: "Conflict", 500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests",
            403: "Forbidden", 404: "NotFound"}


class FakeKube:
    """The fake cluster: an object store plus the HTTP front end, with fault-injection knobs."""

    def __init__(self, history: int = 1000, *, watch_poll: float = 0.2) -> None:
        self.store = Store(history)
        self.resources: dict[tuple[str, str, str], Resource] = {}
        self.faults: list[FaultRule] = []
        self.requests: list[tuple[str, str]] = []
        self.watch_poll = watch_poll
        self._drop_generation = 0
        self._stopping = False
        for res in BUILTINS:
            self.register(res.group, res.version, res.kind, res.plural, namespaced=res.namespaced,
                          status=res.status_subresource)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeKube:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fakekube")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with self.store.lock:
            self.store.changed.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration --------------------------------------------------------------------------------
    def register(self, group: str, version: str, kind: str, plural: str, *, namespaced: bool = True,
                 status: bool = True) -> Resource:
        """Serve a resource (e.g. a CRD): one line per kind."""
        res = Resource(group, version, kind, plural, namespaced, status)
        self.resources[(group, version, plural)] = res
        return res

    def resource(self, plural: str, group: str = "", version: str | None = None) -> Resource:
        for (g, v, p), res in self.resources.items():
            if p == plural and g == group and (version is None or v == version):
                return res
        raise KeyError(plural)

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                          "namespace": namespace}}]}

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        path.write_text(yaml.safe_dump(self.kubeconfig(namespace)))
        return path

    def config(self, namespace: str = "default") -> Any:
        """A lightkube KubeConfig pointing at this server."""
        from lightkube.config.kubeconfig import KubeConfig

        return KubeConfig.from_dict(self.kubeconfig(namespace))

    # -- fault injection ------------------------------------------------------------------------------
    def fail_next(self, count: int = 1, code: int = 500, *, method: str | None = None, path: str | None = None) -> None:
        """Answer the next `count` matching non-watch requests with `code` (a Status error body)."""
        self.faults.append(FaultRule(count, code, method, path))

    def drop_watches(self) -> None:
        """Cut every open watch connection abruptly (no terminating chunk)."""
        with self.store.lock:
            self._drop_generation += 1
            self.store.changed.notify_all()

    def compact(self) -> None:
        """Forget the event history, so watches from older resourceVersions get 410 Gone."""
        self.store.compact()

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        with self.store.lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    return rule
        return None

    # -- test helpers ---------------------------------------------------------------------------------
    def get(self, plural: str, name: str, namespace: str = "", group: str = "") -> Obj | None:
        try:
            return self.store.get(self.resource(plural, group), namespace, name)
        except ApiStatusError:
            return None

    def objects(self, plural: str, namespace: str | None = None, group: str = "") -> list[Obj]:
        return self.store.list(self.resource(plural, group), namespace, None, None)[0]

    def put(self, plural: str, obj: Obj, group: str = "") -> Obj:
        """Create an object directly (no HTTP), as another actor in the cluster would."""
        return self.store.create(self.resource(plural, group), obj["metadata"].get("namespace", ""), obj, "test")


@dataclass
class _Route:
    res: Resource
    namespace: str | None
    name: str | None
    subresource: str


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return

    @property
    def fake(self) -> FakeKube:
        return self.server.fake  # type: ignore[no-any-return]

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        raw = self._raw
        if not raw:
            return {}
        ctype = self.headers.get("Content-Type", "")
        try:
            return yaml.safe_load(raw) if "yaml" in ctype else json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiStatusError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from exc

    def _route(self, path: str) -> _Route | None:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        if not rest:
            return None
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = self.fake.resources.get((group, version, rest[0]))
        if res is None:
            raise ApiStatusError(404, "NotFound", f"the server could not find the requested resource ({path})")
        if ns is not None and not res.namespaced:
            raise ApiStatusError(404, "NotFound", f"{res.plural} is not namespaced")
        return _Route(res, ns, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else "")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.fake.requests.append((method, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        self._raw = self.rfile.read(length) if length else b""
        try:
            if method == "GET" and url.path in ("/version", "/api", "/apis"):
                self._send(200, _discovery(url.path))
                return
            route = self._route(url.path)
            if route is None:
                raise ApiStatusError(404, "NotFound", "the server could not find the requested resource")
            if method == "GET" and query.get("watch") in ("true", "1"):
                self._watch(route, query)
                return
            rule = self.fake.take_fault(method, url.path)
            if rule is not None:
                raise ApiStatusError(rule.code, _REASONS.get(rule.code, "InternalError"), "injected fault")
            self._dispatch(method, route, query)
        except ApiStatusError as err:
            self._send(err.code, err.body())
        except SelectorError as err:
            self._send(400, ApiStatusError(400, "BadRequest", str(err)).body())

    def _dispatch(self, method: str, route: _Route, query: dict[str, str]) -> None:
        store, res = self.fake.store, route.res
        ns = route.namespace or ""
        manager = query.get("fieldManager") or self.headers.get("User-Agent", "unknown").split("/")[0]
        if method == "GET" and route.name is None:
            items, rv = store.list(res, route.namespace if res.namespaced else None, query.get("labelSelector"),
                                   query.get("fieldSelector"))
            self._send(200, {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": rv}, "items": items})
        elif method == "GET":
            self._send(200, store.get(res, ns, route.name or ""))
        elif method == "POST" and route.name is None:
            body = self._body()
            self._send(201, store.create(res, ns, body, manager))
        elif method == "PUT" and route.name:
            body = self._body()
            if body.get("metadata", {}).get("name") not in (None, route.name):
                raise ApiStatusError(400, "BadRequest", "the name of the object does not match the URL")
            self._send(200, store.update(res, ns, route.name, body, manager, route.subresource))
        elif method == "PATCH" and route.name:
            self._patch(route, query, manager)
        elif method == "DELETE" and route.name:
            body = self._body()
            policy = query.get("propagationPolicy") or (body or {}).get("propagationPolicy") or "Background"
            self._send(200, store.delete(res, ns, route.name, policy))
        else:
            raise ApiStatusError(405, "MethodNotAllowed", f"{method} is not supported on {self.path}")

    def _patch(self, route: _Route, query: dict[str, str], manager: str) -> None:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        body = self._body()
        store, ns, name = self.fake.store, route.namespace or "", route.name or ""
        if not isinstance(body, dict):
            raise ApiStatusError(400, "BadRequest", "patch body must be a JSON object")
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            self._send(200, store.merge_patch(route.res, ns, name, body, manager, route.subresource))
        elif ctype == "application/apply-patch+yaml":
            if not query.get("fieldManager"):
                raise ApiStatusError(422, "Invalid", "fieldManager is required for apply requests")
            force = query.get("force") in ("true", "1")
            self._send(200, store.apply(route.res, ns, name, body, query["fieldManager"], force, route.subresource))
        else:
            raise ApiStatusError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format "
                                 f"- accepted media types include: application/merge-patch+json, "
                                 f"application/strategic-merge-patch+json, application/apply-patch+yaml ({ctype})")

    # -- watch ----------------------------------------------------------------------------------------
    def _chunk(self, event: dict[str, Any]) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _watch(self, route: _Route, query: dict[str, str]) -> None:
        store, res, fake = self.fake.store, route.res, self.fake
        ns = route.namespace if res.namespaced else None
        labels = query.get("labelSelector")
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with store.lock:
            generation = fake._drop_generation
            if query.get("resourceVersion") in (None, "", "0"):
                items, rv = store.list(res, ns, labels, query.get("fieldSelector"))
                pending: list[dict[str, Any]] = [{"type": "ADDED", "object": o} for o in items]
                last = int(rv)
            else:
                last = int(query["resourceVersion"])
                pending = []
        try:
            while True:
                for event in pending:
                    self._chunk(event)
                with store.lock:
                    if fake._stopping or time.monotonic() > deadline:
                        break
                    if fake._drop_generation != generation:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    try:
                        events = store.events_since(last, res, ns)
                    except ApiStatusError as err:
                        self._chunk({"type": "ERROR", "object": err.body()})
                        break
                    if not events:
                        store.changed.wait(fake.watch_poll)
                        events = store.events_since(last, res, ns) if last >= store.compacted_rv else []
                    if events:
                        last = events[-1].rv
                    pending = [{"type": e.type, "object": e.obj} for e in events
                               if _label_ok(labels, e.obj)]
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def _label_ok(selector: str | None, obj: Obj) -> bool:
    return label_matches(selector, obj.get("metadata", {}).get("labels"))


def _discovery(path: str) -> dict[str, Any]:
    if path == "/version":
        return {"major": "1", "minor": "31", "gitVersion": "v1.31.0-fakekube", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"]}
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
