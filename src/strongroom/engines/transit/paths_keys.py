"""keys/:name (create, read, delete, list), keys/:name/config, rotate, trim, export."""

from __future__ import annotations

from typing import Any

from strongroom.crypto import transit as tc
from strongroom.engines.transit.keystore import KeyStore, TransitKey
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

S, N, B, D = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.DURATION
NAME = r"(?P<name>\w(([\w.@-]+)?\w)?)"


def check_auto_rotate(period: int) -> int:
    if period and period < 3600:
        raise InvalidRequest("auto_rotate_period must be 0 to disable or at least an hour")
    return period


def paths(store: KeyStore) -> list[Path]:
    async def create(req: Request, d: FieldData) -> Response | None:
        name = d.get("name")
        ktype = d.get("type")
        if ktype not in tc.KEY_TYPES:
            raise InvalidRequest(f"unknown key type {ktype}")
        if d.get("convergent_encryption") and not d.get("derived"):
            raise InvalidRequest("convergent encryption requires derivation to be enabled")
        if d.get("derived") and ktype not in tc.SYMMETRIC:
            raise InvalidRequest("key derivation is only supported for symmetric keys")
        async with store.lock(name):
            if await store.get(req.storage, name) is not None:
                return None  # Vault: creating an existing key is a no-op
            key = TransitKey(name=name, type=ktype, derived=d.get("derived"),
                             convergent_encryption=d.get("convergent_encryption"), exportable=d.get("exportable"),
                             allow_plaintext_backup=d.get("allow_plaintext_backup"),
                             auto_rotate_period=check_auto_rotate(d.get("auto_rotate_period")))
            key.rotate()
            await store.put(req.storage, key)
        return None

    async def read(req: Request, d: FieldData) -> Response | None:
        key = await store.get(req.storage, d.get("name"))
        return None if key is None else Response(data=key.api_view())

    async def delete(req: Request, d: FieldData) -> None:
        name = d.get("name")
        async with store.lock(name):
            key = await store.get(req.storage, name)
            if key is None:
                return
            if not key.deletion_allowed:
                raise InvalidRequest("deletion is not allowed for this key")
            await store.delete(req.storage, name)

    async def list_keys(req: Request, d: FieldData) -> Response | None:
        names = await store.names(req.storage)
        return Response(data={"keys": names}) if names else None

    async def config(req: Request, d: FieldData) -> Response:
        name = d.get("name")
        async with store.lock(name):
            key = await store.get(req.storage, name)
            if key is None:
                raise InvalidRequest("no existing key named " + name + " could be found")
            if d.has("min_decryption_version"):
                v = d.get("min_decryption_version")
                if v < 0 or v > key.latest_version:
                    raise InvalidRequest("min decryption version must be between 1 and the latest version")
                key.min_decryption_version = max(1, v)
            if d.has("min_encryption_version"):
                v = d.get("min_encryption_version")
                if v < 0 or v > key.latest_version:
                    raise InvalidRequest("min encryption version must be between 0 and the latest version")
                key.min_encryption_version = v
            if key.min_encryption_version and key.min_encryption_version < key.min_decryption_version:
                raise InvalidRequest("min encryption version must not be lower than min decryption version")
            for f in ("deletion_allowed", "exportable", "allow_plaintext_backup"):
                if d.has(f):
                    if f in ("exportable", "allow_plaintext_backup") and getattr(key, f) and not d.get(f):
                        raise InvalidRequest(f"{f} cannot be disabled once enabled")
                    setattr(key, f, d.get(f))
            if d.has("auto_rotate_period"):
                key.auto_rotate_period = check_auto_rotate(d.get("auto_rotate_period"))
            await store.put(req.storage, key)
            return Response(data=key.api_view())

    async def rotate(req: Request, d: FieldData) -> Response:
        name = d.get("name")
        async with store.lock(name):
            key = await store.get(req.storage, name)
            if key is None:
                raise InvalidRequest("no existing key named " + name + " could be found")
            key.rotate()
            await store.put(req.storage, key)
            return Response(data=key.api_view())

    async def trim(req: Request, d: FieldData) -> Response:
        name = d.get("name")
        async with store.lock(name):
            key = await store.get(req.storage, name)
            if key is None:
                raise InvalidRequest("no existing key named " + name + " could be found")
            v = d.get("min_available_version")
            if v < 1 or v > min(key.min_decryption_version, key.min_encryption_version or key.latest_version):
                raise InvalidRequest("min_available_version must be at least 1 and at most both min versions")
            for old in [k for k in key.versions if k < v]:
                del key.versions[old]
            key.min_available_version = v
            await store.put(req.storage, key)
            return Response(data=key.api_view())

    async def export(req: Request, d: FieldData) -> Response | None:
        key = await store.get(req.storage, d.get("name"))
        if key is None:
            return None
        if not key.exportable:
            raise InvalidRequest("private key material is not exportable")
        kind = d.get("kind")
        versions: dict[int, tc.KeyVersion] = key.versions
        if d.get("version"):
            wanted = d.get("version")
            v = key.latest_version if wanted == "latest" else int(wanted) if str(wanted).isdigit() else -1
            if v not in key.versions:
                raise InvalidRequest("invalid key version")
            versions = {v: key.versions[v]}
        out: dict[str, Any] = {}
        for v, kv in versions.items():
            if kind == "encryption-key":
                if not key.symmetric:
                    raise InvalidRequest("encryption key not supported by key type")
                out[str(v)] = tc.b64(kv.key)
            elif kind == "hmac-key":
                out[str(v)] = tc.b64(kv.hmac_key)
            elif kind == "signing-key":
                if not key.asymmetric:
                    raise InvalidRequest("signing key not supported by key type")
                out[str(v)] = kv.private_pem.decode()
            else:
                raise InvalidRequest("invalid export type")
        return Response(data={"name": key.name, "type": key.type, "keys": out})

    async def exists(req: Request, d: FieldData) -> bool:
        return await store.get(req.storage, d.get("name")) is not None

    key_fields = {
        "name": Field(S, "Key name"), "type": Field(S, "Key type", default="aes256-gcm96"),
        "derived": Field(B), "convergent_encryption": Field(B), "exportable": Field(B),
        "allow_plaintext_backup": Field(B), "auto_rotate_period": Field(D), "context": Field(S),
        "key_size": Field(N), "managed_key_name": Field(S), "managed_key_id": Field(S),
    }
    cfg_fields = {"name": Field(S), "min_decryption_version": Field(N), "min_encryption_version": Field(N),
                  "deletion_allowed": Field(B), "exportable": Field(B), "allow_plaintext_backup": Field(B),
                  "auto_rotate_period": Field(D)}
    return [
        Path("keys/?", {Op.LIST: list_keys}, help_synopsis="List transit keys."),
        Path(f"keys/{NAME}", {Op.UPDATE: create, Op.READ: read, Op.DELETE: delete}, fields=key_fields,
             existence_check=exists, help_synopsis="Create, read or delete a transit key."),
        Path(f"keys/{NAME}/config", {Op.UPDATE: config}, fields=cfg_fields, help_synopsis="Configure a key."),
        Path(f"keys/{NAME}/rotate", {Op.UPDATE: rotate}, fields={"name": Field(S), "managed_key_name": Field(S)},
             help_synopsis="Rotate a key (new version)."),
        Path(f"keys/{NAME}/trim", {Op.UPDATE: trim}, fields={"name": Field(S), "min_available_version": Field(N)},
             help_synopsis="Delete key versions older than min_available_version."),
        Path(rf"export/(?P<kind>encryption-key|signing-key|hmac-key)/{NAME}(/(?P<version>\w+))?",
             {Op.READ: export}, fields={"kind": Field(S), "name": Field(S), "version": Field(S)},
             help_synopsis="Export key material (only keys created exportable)."),
    ]
