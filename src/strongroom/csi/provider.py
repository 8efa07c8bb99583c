"""The `v1alpha1.CSIDriverProvider` service: log in with the pod's service-account token (handed over by the
driver through the CSIDriver's `tokenRequests`), read the objects, return them as files with versions.

Tokens are cached per (store, mount, role, pod token) and reused until two thirds of their TTL, and a replaced
token is revoked, so the driver's rotation polling does not log in every poll (vault-csi-provider#150).
Rotation needs nothing special: the driver calls Mount again; versions are KV v2 versions where there are any,
otherwise a digest of the content, so they change exactly when the file would.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import threading
import time
from typing import Any

import grpc

from strongroom import __version__
from strongroom.client import Client, ClientConfig, ClientError, Forbidden, ServerUnavailable
from strongroom.csi._proto import csi_provider_pb2 as pb2
from strongroom.csi._proto import csi_provider_pb2_grpc as pb2_grpc
from strongroom.csi.params import MountParams, Obj, ParamError, parse

log = logging.getLogger("strongroom.csi")


class MountFailed(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, metric: str) -> None:
        super().__init__(message)
        self.code, self.metric = code, metric


class TokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # key -> (token, reuse-until monotonic)
        self.logins = 0

    @staticmethod
    def key(p: MountParams) -> str:
        return hashlib.sha256("\0".join([p.address, p.namespace, p.auth_mount, p.role, p.sa_token]).encode()
                              ).hexdigest()

    def token(self, p: MountParams, client: Client) -> str:
        k = self.key(p)
        with self._lock:
            hit = self._tokens.get(k)
        if hit and time.monotonic() < hit[1]:
            return hit[0]
        try:
            auth = client.login(p.auth_mount, {"role": p.role, "jwt": p.sa_token})
        except ServerUnavailable:
            raise
        except ClientError as exc:
            if exc.status >= 500 or exc.status == 0:
                raise
            raise MountFailed(grpc.StatusCode.PERMISSION_DENIED, f"login denied for role {p.role} on "
                              f"auth/{p.auth_mount} (pod {p.pod_namespace}/{p.pod_name}, HTTP {exc.status})",
                              "login_denied") from None
        ttl = float(auth.get("lease_duration") or 0)
        token = str(auth["client_token"])
        with self._lock:
            self.logins += 1
            self._tokens[k] = (token, time.monotonic() + (ttl * 2 / 3 if ttl else 3600))
        if hit:  # the replaced token is no longer needed
            with contextlib.suppress(ClientError):
                client.request("POST", "auth/token/revoke-self", {}, token=hit[0])
        return token


def _kv_unwrap(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    data = body.get("data") or {}
    if isinstance(data.get("data"), dict) and isinstance(data.get("metadata"), dict):
        return data["data"], str(data["metadata"].get("version", ""))
    return data, ""


def _content(o: Obj, data: dict[str, Any]) -> bytes:
    if not o.key:
        return json.dumps(data, sort_keys=True).encode()
    if o.key not in data:
        raise MountFailed(grpc.StatusCode.NOT_FOUND, f"key {o.key} not found at {o.path}", "key_not_found")
    v = data[o.key]
    raw = v.encode() if isinstance(v, str) else json.dumps(v).encode()
    try:
        if o.encoding == "base64":
            return base64.b64decode(raw, validate=True)
        if o.encoding == "hex":
            return binascii.unhexlify(raw)
    except (binascii.Error, ValueError):
        raise MountFailed(grpc.StatusCode.INVALID_ARGUMENT, f"{o.path}#{o.key} is not valid {o.encoding}",
                          "decode_error") from None
    return raw


def mount(p: MountParams, tokens: TokenCache) -> pb2.MountResponse:
    if not p.sa_token:
        raise MountFailed(grpc.StatusCode.INVALID_ARGUMENT, "the driver sent no service-account token: set "
                          "tokenRequests (with an audience) on the secrets-store.csi.k8s.io CSIDriver",
                          "no_token")
    cfg = ClientConfig(address=p.address, token="", namespace=p.namespace, ca_cert=p.ca_cert,
                       insecure_skip_verify=p.skip_verify, timeout=20)
    with Client(cfg) as client:
        try:
            client.token = tokens.token(p, client)
            bodies: dict[str, tuple[dict[str, Any], str]] = {}
            for o in p.objects:
                if o.path not in bodies:
                    try:
                        body = client.read(o.path)
                    except Forbidden:
                        raise MountFailed(grpc.StatusCode.PERMISSION_DENIED, f"permission denied reading {o.path}",
                                          "forbidden") from None
                    if body is None:
                        raise MountFailed(grpc.StatusCode.NOT_FOUND, f"no secret at {o.path}", "not_found")
                    bodies[o.path] = _kv_unwrap(body)
        except ServerUnavailable:
            raise MountFailed(grpc.StatusCode.UNAVAILABLE, f"store at {p.address} unreachable",
                              "unavailable") from None
        except ClientError as exc:
            raise MountFailed(grpc.StatusCode.INTERNAL, f"store error HTTP {exc.status}", "store_error") from None
    resp = pb2.MountResponse()
    for o in p.objects:
        data, kv_version = bodies[o.path]
        content = _content(o, data)
        version = kv_version or hashlib.sha256(content).hexdigest()[:16]
        resp.files.append(pb2.File(path=o.name, mode=o.mode if o.mode is not None else p.default_mode,
                                   contents=content))
        resp.object_version.append(pb2.ObjectVersion(id=o.name, version=version))
    return resp


class ProviderService(pb2_grpc.CSIDriverProviderServicer):
    def __init__(self) -> None:
        self.tokens = TokenCache()
        self.mounts = 0
        self.failures: dict[str, int] = {}

    def Version(self, request: pb2.VersionRequest, context: grpc.ServicerContext) -> pb2.VersionResponse:
        return pb2.VersionResponse(version="v1alpha1", runtime_name="strongroom", runtime_version=__version__)

    def Mount(self, request: pb2.MountRequest, context: grpc.ServicerContext) -> pb2.MountResponse:
        self.mounts += 1
        try:
            p = parse(request.attributes, request.permission)
            resp = mount(p, self.tokens)
        except ParamError as exc:
            self.failures["bad_params"] = self.failures.get("bad_params", 0) + 1
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"strongroom: {exc}")
        except MountFailed as exc:
            self.failures[exc.metric] = self.failures.get(exc.metric, 0) + 1
            log.warning("mount failed: %s", exc)
            context.abort(exc.code, f"strongroom: {exc}")
        log.info("mounted %d object(s) for %s/%s", len(p.objects), p.pod_namespace, p.pod_name)
        return resp
