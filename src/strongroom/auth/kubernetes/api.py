"""The few Kubernetes API calls Kubernetes auth makes: TokenReview, and GETs of a namespace, service account or
pod (namespace selectors; re-validation on token renewal).

Plain httpx rather than lightkube: these are four fixed REST calls authenticated with a caller-supplied bearer
(the reviewer JWT or the login JWT), against a per-mount host and CA, and auth methods must stay light.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom.sdk import PermissionDenied
from strongroom.sdk.errors import Unavailable

log = logging.getLogger("strongroom.auth.kubernetes")

LOCAL_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
LOCAL_JWT = "/var/run/secrets/kubernetes.io/serviceaccount/token"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class ClusterConfig:
    host: str
    ca_cert: str = ""
    reviewer_jwt: str = ""
    disable_local_ca_jwt: bool = False

    @classmethod
    def from_stored(cls, cfg: dict[str, Any]) -> ClusterConfig:
        host = str(cfg["kubernetes_host"]).rstrip("/")
        if "://" not in host:
            host = "https://" + host
        return cls(host=host, ca_cert=cfg.get("kubernetes_ca_cert", ""),
                   reviewer_jwt=cfg.get("token_reviewer_jwt", ""),
                   disable_local_ca_jwt=bool(cfg.get("disable_local_ca_jwt", False)))

    def ssl_context(self) -> ssl.SSLContext:
        ca = self.ca_cert
        if not ca and not self.disable_local_ca_jwt and os.path.exists(LOCAL_CA):
            with open(LOCAL_CA, encoding="ascii") as f:
                ca = f.read()
        if ca:
            return ssl.create_default_context(cadata=ca)
        return ssl.create_default_context()

    def bearer(self, login_jwt: str | None) -> str | None:
        """token_reviewer_jwt, else the pod's own token in-cluster, else the login JWT (None: no way to ask)."""
        if self.reviewer_jwt:
            return self.reviewer_jwt
        if not self.disable_local_ca_jwt and os.path.exists(LOCAL_JWT):
            with open(LOCAL_JWT, encoding="ascii") as f:  # re-read: kubelet rotates it
                return f.read().strip()
        return login_jwt


class KubeClient:
    """One httpx client per mount configuration (connection reuse matters: logins are the hot path)."""

    def __init__(self, cfg: ClusterConfig) -> None:
        self.cfg = cfg
        self._client = httpx.AsyncClient(base_url=cfg.host, verify=cfg.ssl_context(), timeout=TIMEOUT)

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, url: str, bearer: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return await self._client.request(method, url, json=body,
                                              headers={"Authorization": f"Bearer {bearer}",
                                                       "Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("kubernetes API %s %s failed: %s", method, url, type(exc).__name__)
            raise Unavailable("kubernetes API unreachable") from None

    async def token_review(self, jwt: str, audiences: list[str]) -> dict[str, Any]:
        """The TokenReview status; PermissionDenied unless the API answered and authenticated the token."""
        bearer = self.cfg.bearer(jwt) or jwt
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": jwt, **({"audiences": audiences} if audiences else {})}}
        try:
            r = await self._call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", bearer, body)
        except Unavailable:
            raise PermissionDenied() from None  # as Vault: any TokenReview failure is a denied login
        if r.status_code not in (200, 201):
            log.warning("TokenReview answered HTTP %d", r.status_code)
            raise PermissionDenied()
        try:
            status = r.json().get("status") or {}
        except ValueError:
            raise PermissionDenied() from None
        if not isinstance(status, dict) or status.get("authenticated") is not True:
            raise PermissionDenied()
        return status

    async def get(self, path: str, *, bearer: str | None = None) -> dict[str, Any] | None:
        """GET an object (default: with the reviewer credentials): None if it is gone (404); Unavailable when
        unsure."""
        bearer = bearer or self.cfg.bearer(None)
        if bearer is None:
            raise Unavailable("no token_reviewer_jwt configured to query the Kubernetes API")
        r = await self._call("GET", path, bearer)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            log.warning("kubernetes API GET %s answered HTTP %d", path, r.status_code)
            raise Unavailable(f"kubernetes API answered HTTP {r.status_code}")
        try:
            obj = r.json()
        except ValueError:
            raise Unavailable("kubernetes API answered with invalid JSON") from None
        return obj if isinstance(obj, dict) else None


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against labels. An empty selector matches all."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


__all__ = ["ClusterConfig", "KubeClient", "selector_matches"]
