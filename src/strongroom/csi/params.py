"""SecretProviderClass parameters -> a typed request. Errors name the parameter, never a value.

Parameter names follow the brief (roleName, strongroomAddress, objects with objectName/secretPath/secretKey);
Vault's provider names (vaultAddress, vaultKubernetesMountPath, ...) are accepted too so a SecretProviderClass can
switch `provider: vault` to `provider: strongroom` with no other change.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

import yaml

POD_NS = "csi.storage.k8s.io/pod.namespace"
POD_NAME = "csi.storage.k8s.io/pod.name"
POD_UID = "csi.storage.k8s.io/pod.uid"
SA_NAME = "csi.storage.k8s.io/serviceAccount.name"
SA_TOKENS = "csi.storage.k8s.io/serviceAccount.tokens"


class ParamError(ValueError):
    """A SecretProviderClass parameter is missing or malformed."""


@dataclass
class Obj:
    name: str  # file name in the volume
    path: str  # store path, e.g. secret/data/db
    key: str = ""  # one key of the secret; empty = the whole data as JSON
    mode: int | None = None
    encoding: str = "utf-8"  # or base64 / hex: decode the value before writing


@dataclass
class MountParams:
    role: str
    address: str
    auth_mount: str = "kubernetes"
    ca_cert: str = ""
    skip_verify: bool = False
    namespace: str = ""
    audience: str = ""
    objects: list[Obj] = field(default_factory=list)
    pod_namespace: str = ""
    pod_name: str = ""
    sa_name: str = ""
    sa_token: str = ""
    default_mode: int = 0o644


def _first(attrs: dict[str, str], *names: str) -> str:
    for n in names:
        if attrs.get(n):
            return str(attrs[n])
    return ""


def _object(i: int, raw: Any) -> Obj:
    if not isinstance(raw, dict):
        raise ParamError(f"objects[{i}] must be a mapping")
    name, path = str(raw.get("objectName") or ""), str(raw.get("secretPath") or "")
    if not name or not path:
        raise ParamError(f"objects[{i}] needs objectName and secretPath")
    norm = posixpath.normpath(name)
    if name.startswith(("/", "..")) or ".." in name.split("/") or norm != name or norm == ".":
        raise ParamError(f"objects[{i}].objectName must be a relative path without '..'")
    mode = raw.get("filePermission")
    try:
        m = int(str(mode), 8) if mode not in (None, "") else None
    except ValueError:
        raise ParamError(f"objects[{i}].filePermission must be octal like 0640") from None
    if m is not None and not 0 <= m <= 0o777:
        raise ParamError(f"objects[{i}].filePermission must be octal like 0640")
    enc = str(raw.get("encoding") or "utf-8").lower()
    if enc not in ("utf-8", "base64", "hex"):
        raise ParamError(f"objects[{i}].encoding must be utf-8, base64 or hex")
    return Obj(name, path.strip("/"), str(raw.get("secretKey") or ""), m, enc)


def _token(attrs: dict[str, str], audience: str) -> str:
    raw = attrs.get(SA_TOKENS)
    if not raw:
        return ""
    try:
        tokens = json.loads(raw)
    except ValueError:
        raise ParamError(f"{SA_TOKENS} is not JSON") from None
    if not isinstance(tokens, dict) or not tokens:
        return ""
    if audience:
        entry = tokens.get(audience)
        if entry is None:
            raise ParamError(f"no service-account token for audience {audience!r}; add it to the CSIDriver's "
                             "tokenRequests")
    else:
        entry = next(iter(tokens.values()))
    return str((entry or {}).get("token") or "")


def parse(attributes: str, permission: str) -> MountParams:
    try:
        attrs = json.loads(attributes or "{}")
    except ValueError:
        raise ParamError("attributes are not JSON") from None
    if not isinstance(attrs, dict):
        raise ParamError("attributes must be a JSON object")
    role = _first(attrs, "roleName")
    address = _first(attrs, "strongroomAddress", "vaultAddress")
    if not role:
        raise ParamError("parameter roleName is required")
    if not address:
        raise ParamError("parameter strongroomAddress is required")
    try:
        objs = yaml.safe_load(attrs.get("objects") or "[]")
    except yaml.YAMLError:
        raise ParamError("parameter objects is not valid YAML") from None
    if not isinstance(objs, list) or not objs:
        raise ParamError("parameter objects must be a non-empty list")
    objects = [_object(i, o) for i, o in enumerate(objs)]
    names = [o.name for o in objects]
    if len(set(names)) != len(names):
        raise ParamError("two objects share an objectName")
    try:
        default_mode = int(json.loads(permission)) if permission else 0o644
    except (ValueError, TypeError):
        raise ParamError("permission is not a number") from None
    audience = _first(attrs, "audience")
    return MountParams(
        role=role, address=address,
        auth_mount=_first(attrs, "strongroomAuthMountPath", "vaultKubernetesMountPath", "vaultAuthMountPath")
        .removeprefix("auth/").strip("/") or "kubernetes",
        ca_cert=_first(attrs, "strongroomCACertPath", "vaultCACertPath"),
        skip_verify=_first(attrs, "strongroomSkipTLSVerify", "vaultSkipTLSVerify").lower() == "true",
        namespace=_first(attrs, "strongroomNamespace", "vaultNamespace"),
        audience=audience, objects=objects, pod_namespace=str(attrs.get(POD_NS) or ""),
        pod_name=str(attrs.get(POD_NAME) or ""), sa_name=str(attrs.get(SA_NAME) or ""),
        sa_token=_token(attrs, audience), default_mode=default_mode)
