"""Service-account JWTs: split, decode, optional signature check against `pem_keys`, claim checks.

Hand-written rather than PyJWT because signature verification must go through strongroom.crypto (the only
importer of `cryptography`), and what is left is base64url + JSON + a few claim comparisons. Without pem_keys the
signature is not checked here (as Vault): the TokenReview call to the API server is what authenticates the JWT.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.crypto import CryptoError
from strongroom.crypto._primitives import jws_verify
from strongroom.sdk import PermissionDenied

ALLOWED_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA")
LEGACY_ISSUER = "kubernetes/serviceaccount"
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # DNS-1123 label (namespaces)
_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LEEWAY = 60  # seconds of clock skew tolerated on exp/nbf/iat, as go-jose's DefaultLeeway


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    uid: str
    secret_name: str = ""
    pod_name: str = ""
    pod_uid: str = ""


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise PermissionDenied() from None


def _aud(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        return []
    return [aud] if isinstance(aud, str) else [str(a) for a in aud] if isinstance(aud, list) else []


def parse(token: str, *, pem_keys: list[str], issuer: str, check_issuer: bool, audience: str,
          now: float | None = None) -> tuple[dict[str, Any], ServiceAccount]:
    """The JWT's claims and service account; PermissionDenied for anything malformed, unsigned or unexpected."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise PermissionDenied()
    try:
        header = orjson.loads(_b64(parts[0]))
        claims = orjson.loads(_b64(parts[1]))
    except orjson.JSONDecodeError:
        raise PermissionDenied() from None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") not in ALLOWED_ALGS:
        raise PermissionDenied()
    if pem_keys:
        _verify(header["alg"], parts, pem_keys)
    _check_times(claims, time.time() if now is None else now)
    if check_issuer and claims.get("iss") != (issuer or LEGACY_ISSUER):
        raise PermissionDenied()
    if audience and audience not in _aud(claims):
        raise PermissionDenied()
    return claims, service_account(claims)


def _verify(alg: str, parts: list[str], pem_keys: list[str]) -> None:
    signing_input = f"{parts[0]}.{parts[1]}".encode()
    signature = _b64(parts[2])
    for pem in pem_keys:
        try:
            jws_verify(pem.encode(), alg, signing_input, signature)
            return
        except CryptoError:
            continue
    raise PermissionDenied()


def _check_times(claims: dict[str, Any], now: float) -> None:
    for name in ("exp", "nbf", "iat"):
        if name in claims and not isinstance(claims[name], (int, float)):
            raise PermissionDenied()
    if "exp" in claims and now > claims["exp"] + LEEWAY:
        raise PermissionDenied()
    if "nbf" in claims and now + LEEWAY < claims["nbf"]:
        raise PermissionDenied()


def service_account(claims: dict[str, Any]) -> ServiceAccount:
    """From projected-token claims (`kubernetes.io`) or legacy secret-token claims."""
    k8s = claims.get("kubernetes.io")
    if isinstance(k8s, dict):
        sa = k8s.get("serviceaccount") or {}
        pod = k8s.get("pod") or {}
        if not isinstance(sa, dict) or not isinstance(pod, dict):
            raise PermissionDenied()
        out = ServiceAccount(namespace=str(k8s.get("namespace", "")), name=str(sa.get("name", "")),
                             uid=str(sa.get("uid", "")), pod_name=str(pod.get("name", "")),
                             pod_uid=str(pod.get("uid", "")))
    else:
        p = "kubernetes.io/serviceaccount/"
        out = ServiceAccount(namespace=str(claims.get(p + "namespace", "")),
                             name=str(claims.get(p + "service-account.name", "")),
                             uid=str(claims.get(p + "service-account.uid", "")),
                             secret_name=str(claims.get(p + "secret.name", "")))
    # the names go into API URLs (namespace selector, renewal checks): only what Kubernetes itself allows
    if not _LABEL.fullmatch(out.namespace) or not _SUBDOMAIN.fullmatch(out.name) or \
            (out.pod_name and not _SUBDOMAIN.fullmatch(out.pod_name)):
        raise PermissionDenied()
    return out


def audiences(claims: dict[str, Any]) -> list[str]:
    return _aud(claims)


__all__ = ["ServiceAccount", "audiences", "parse", "service_account"]
