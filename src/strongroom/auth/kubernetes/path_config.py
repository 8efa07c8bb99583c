"""config: where the Kubernetes API is and how to trust and call it. Also owns the mount's API client."""

from __future__ import annotations

import ssl
from typing import Any

import orjson

from strongroom.auth.kubernetes.api import ClusterConfig, KubeClient
from strongroom.crypto import CryptoError
from strongroom.crypto._primitives import jws_public_key
from strongroom.sdk import InvalidRequest, Operation, Request, Response, Storage
from strongroom.sdk.errors import Unavailable
from strongroom.sdk.framework import Field, FieldData, FieldType, Path

B, S, L = FieldType.BOOL, FieldType.STRING, FieldType.COMMA_STRING_SLICE
CONFIG_FIELDS: dict[str, Field] = {
    "kubernetes_host": Field(S, "Host, host:port or URL of the Kubernetes API server."),
    "kubernetes_ca_cert": Field(S, "PEM CA certificate(s) to verify the API server with (default: the pod's "
                                   "ca.crt in-cluster, else the system trust store)."),
    "token_reviewer_jwt": Field(S, "Bearer token for TokenReview and object lookups (default: the pod's own "
                                   "token in-cluster, else the JWT being logged in with).", sensitive=True),
    "pem_keys": Field(L, "PEM public keys to verify JWT signatures locally (optional; TokenReview always runs)."),
    "issuer": Field(S, "Required JWT issuer when disable_iss_validation is false.", deprecated=True),
    "disable_iss_validation": Field(B, "Do not check the JWT issuer.", default=True, deprecated=True),
    "disable_local_ca_jwt": Field(B, "Do not fall back to the pod's own CA and token files."),
    "use_annotations_as_alias_metadata": Field(B, "Accepted for compatibility; there is no identity store yet."),
}


class ConfigStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._client: KubeClient | None = None
        self._cached: dict[str, Any] | None = None

    async def load(self) -> dict[str, Any] | None:
        if self._cached is None:
            raw = await self.storage.get("config")
            self._cached = None if raw is None else dict(orjson.loads(raw))
        return self._cached

    async def save(self, cfg: dict[str, Any]) -> None:
        await self.storage.put("config", orjson.dumps(cfg))
        await self.reset()
        self._cached = cfg

    async def reset(self) -> None:
        self._cached = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def client(self) -> KubeClient:
        cfg = await self.load()
        if cfg is None:
            raise InvalidRequest("could not load backend configuration: write the mount's config first")
        if self._client is None:
            try:
                self._client = KubeClient(ClusterConfig.from_stored(cfg))
            except (ssl.SSLError, ValueError):
                raise Unavailable("kubernetes_ca_cert holds no readable PEM certificate") from None
        return self._client


def _check(cfg: dict[str, Any]) -> list[str]:
    """Refuses bad input; returns warnings for what Vault accepts but cannot work (hvac's tests write a dummy CA)."""
    warnings = []
    if not cfg["kubernetes_host"]:
        raise InvalidRequest("no host provided")
    if cfg["kubernetes_ca_cert"]:
        try:
            ssl.create_default_context(cadata=cfg["kubernetes_ca_cert"])
        except (ssl.SSLError, ValueError):
            warnings.append("kubernetes_ca_cert holds no readable PEM certificate: logins will fail until it is "
                            "fixed")
    jwt = cfg["token_reviewer_jwt"]
    if jwt and (jwt.count(".") != 2 or any(not part for part in jwt.split(".")[:2])):
        raise InvalidRequest("token_reviewer_jwt is not a compact JWS")
    for pem in cfg["pem_keys"]:
        try:
            jws_public_key(pem.encode())
        except CryptoError:
            raise InvalidRequest("pem_keys contains an entry that is not a PEM public key or certificate") from None
    return warnings


def config_paths(store: ConfigStore) -> list[Path]:
    async def write(req: Request, d: FieldData) -> Response | None:
        old = await store.load() or {}
        cfg = {k: d.get(k) if (d.has(k) or k not in old) else old[k] for k in CONFIG_FIELDS}
        warnings = _check(cfg)
        await store.save(cfg)
        return Response(warnings=warnings) if warnings else None

    async def read(req: Request, d: FieldData) -> Response | None:
        cfg = await store.load()
        if cfg is None:
            return None
        view = {k: v for k, v in cfg.items() if k != "token_reviewer_jwt"}
        view["token_reviewer_jwt_set"] = bool(cfg.get("token_reviewer_jwt"))
        return Response(data=view)

    return [Path("config", {Operation.READ: read, Operation.UPDATE: write, Operation.CREATE: write},
                 fields=CONFIG_FIELDS, help_synopsis="Configures the JWT public key and Kubernetes API "
                                                     "information.")]


__all__ = ["ConfigStore", "config_paths"]
