"""A tiny Kubernetes API server for auth tests: TokenReview that really verifies RS256 service-account JWTs, plus
GETs of namespaces, service accounts and pods. HTTPS on 127.0.0.1 with its own CA, answering like the real API
(TokenReview 201 with status.authenticated / user / audiences; 401 for a bad bearer; 404 Status objects).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ISSUER = "https://kubernetes.default.svc.cluster.local"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sign_jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str = "test") -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    sig = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(sig)}"


def make_ca(cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Cluster:
    """The state the fake API serves. Mutate it from tests (delete a service account, label a namespace...)."""

    signing_key: rsa.RSAPrivateKey
    service_accounts: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, name) -> uid
    pods: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, name) -> uid
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    reviewers: set[tuple[str, str]] = field(default_factory=set)  # SAs allowed to create TokenReviews
    reviews: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_sa(self, ns: str, name: str) -> str:
        uid = str(uuid.uuid4())
        with self.lock:
            self.service_accounts[(ns, name)] = uid
            self.namespaces.setdefault(ns, {})
        return uid

    def add_pod(self, ns: str, name: str) -> str:
        uid = str(uuid.uuid4())
        with self.lock:
            self.pods[(ns, name)] = uid
        return uid

    def token(self, ns: str, name: str, *, aud: list[str] | None = None, ttl: int = 3600, pod: str | None = None,
              legacy: bool = False, iat: float | None = None, uid: str | None = None) -> str:
        """A JWT as the kubelet (projected) or the token controller (legacy secret) would issue it."""
        sa_uid = uid or self.service_accounts.get((ns, name), str(uuid.uuid4()))
        now = int(iat if iat is not None else time.time())
        if legacy:
            p = "kubernetes.io/serviceaccount/"
            claims: dict[str, Any] = {"iss": "kubernetes/serviceaccount", p + "namespace": ns,
                                      p + "secret.name": f"{name}-token-abcde", p + "service-account.name": name,
                                      p + "service-account.uid": sa_uid,
                                      "sub": f"system:serviceaccount:{ns}:{name}"}
        else:
            k8s: dict[str, Any] = {"namespace": ns, "serviceaccount": {"name": name, "uid": sa_uid}}
            if pod is not None:
                k8s["pod"] = {"name": pod, "uid": self.pods.get((ns, pod), "")}
            claims = {"aud": aud if aud is not None else [API_AUDIENCE], "exp": now + ttl, "iat": now, "nbf": now,
                      "iss": ISSUER, "kubernetes.io": k8s, "sub": f"system:serviceaccount:{ns}:{name}"}
        return sign_jwt(self.signing_key, claims)

    # --- what the API server does with a token ------------------------------------------------------------

    def authenticate(self, token: str, audiences: list[str]) -> tuple[dict[str, Any] | None, list[str], str]:
        """(user, audiences, error) as the API server's service-account authenticator decides."""
        try:
            h, p, s = token.split(".")
            self.signing_key.public_key().verify(b64url_decode(s), f"{h}.{p}".encode(), padding.PKCS1v15(),
                                                 hashes.SHA256())
            claims = json.loads(b64url_decode(p))
        except (ValueError, InvalidSignature):
            return None, [], "invalid bearer token"
        if "exp" in claims and time.time() > claims["exp"]:
            return None, [], "service account token has expired"
        if "kubernetes.io" in claims:
            k8s = claims["kubernetes.io"]
            ns, name, uid = k8s["namespace"], k8s["serviceaccount"]["name"], k8s["serviceaccount"]["uid"]
            token_aud = claims.get("aud") or []
            token_aud = [token_aud] if isinstance(token_aud, str) else token_aud
            want = audiences or [API_AUDIENCE]
            granted = [a for a in want if a in token_aud]
            if not granted:
                return None, [], f"token audiences {token_aud} is invalid for the target audiences {want}"
            pod = k8s.get("pod")
            with self.lock:
                if pod and self.pods.get((ns, pod["name"])) != pod["uid"]:
                    return None, [], "pod does not exist"
        else:
            pre = "kubernetes.io/serviceaccount/"
            ns, name, uid = claims[pre + "namespace"], claims[pre + "service-account.name"], \
                claims[pre + "service-account.uid"]
            granted = audiences or [API_AUDIENCE]
        with self.lock:
            if self.service_accounts.get((ns, name)) != uid:
                return None, [], "service account does not exist"
        user = {"username": f"system:serviceaccount:{ns}:{name}", "uid": uid,
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]}
        return user, granted, ""


def _handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one TLS record per write: avoid Nagle + delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _status(self, code: int, reason: str, message: str) -> None:
            self._send(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                              "reason": reason, "code": code})

        def _caller(self) -> tuple[str, str] | None:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return None
            user, _, _ = cluster.authenticate(auth[7:], [API_AUDIENCE])
            if user is None:
                return None
            _, _, ns, name = user["username"].split(":")
            return ns, name

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if self.path != "/apis/authentication.k8s.io/v1/tokenreviews":
                return self._status(404, "NotFound", "the server could not find the requested resource")
            caller = self._caller()
            if caller is None:
                return self._status(401, "Unauthorized", "Unauthorized")
            if caller not in cluster.reviewers:
                return self._status(403, "Forbidden", "tokenreviews.authentication.k8s.io is forbidden")
            spec = body.get("spec") or {}
            with cluster.lock:
                cluster.reviews += 1
            user, auds, err = cluster.authenticate(spec.get("token", ""), spec.get("audiences") or [])
            status: dict[str, Any] = {"authenticated": True, "user": user, "audiences": auds} if user else \
                {"user": {}, "error": err}
            self._send(201, {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                             "metadata": {"creationTimestamp": None}, "spec": spec, "status": status})

        def do_GET(self) -> None:
            caller = self._caller()
            if caller is None:
                return self._status(401, "Unauthorized", "Unauthorized")
            if caller not in cluster.reviewers:
                return self._status(403, "Forbidden", "forbidden")
            parts = self.path.strip("/").split("/")
            with cluster.lock:
                if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
                    if parts[3] in cluster.namespaces:
                        return self._send(200, {"kind": "Namespace", "metadata": {
                            "name": parts[3], "labels": cluster.namespaces[parts[3]]}})
                elif len(parts) == 6 and parts[4] in ("serviceaccounts", "pods"):
                    table = cluster.service_accounts if parts[4] == "serviceaccounts" else cluster.pods
                    uid = table.get((parts[3], parts[5]))
                    if uid is not None:
                        return self._send(200, {"metadata": {"name": parts[5], "namespace": parts[3],
                                                             "uid": uid}})
            return self._status(404, "NotFound", "not found")

    return Handler


@dataclass
class KubeAPI:
    url: str
    ca_pem: str
    cluster: Cluster
    reviewer_jwt: str
    server: ThreadingHTTPServer

    def public_key_pem(self) -> str:
        return self.cluster.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def signing_cert_pem(self) -> str:
        """The service-account signing key in a self-signed certificate (hvac only passes certificates)."""
        key = self.cluster.signing_key
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "service-accounts")])
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        return pem(cert)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start() -> KubeAPI:
    ca_key, ca_cert = make_ca("fake-kube-apiserver")
    cluster = Cluster(signing_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    cluster.add_sa("kube-system", "token-reviewer")
    cluster.reviewers.add(("kube-system", "token-reviewer"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        f.write(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
        f.flush()
        ctx.load_cert_chain(f.name)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    reviewer = cluster.token("kube-system", "token-reviewer", ttl=86400)
    return KubeAPI(url, pem(ca_cert), cluster, reviewer, server)


__all__ = ["API_AUDIENCE", "Cluster", "KubeAPI", "make_ca", "pem", "sign_jwt", "start"]
