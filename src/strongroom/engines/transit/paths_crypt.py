"""encrypt, decrypt, rewrap, datakey."""

from __future__ import annotations

from typing import Any

from strongroom.crypto import transit as tc
from strongroom.engines.transit import batch
from strongroom.engines.transit.keystore import KeyStore, TransitKey
from strongroom.engines.transit.paths_keys import NAME
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

S, N, B, SL = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.SLICE


def _b64_opt(item: dict[str, Any], field: str) -> bytes:
    v = item.get(field)
    if not v:
        return b""
    if not isinstance(v, str):
        raise InvalidRequest(f"{field} must be a base64 string")
    return tc.unb64(v, field)


async def _key(store: KeyStore, req: Request, name: str) -> TransitKey:
    key = await store.get(req.storage, name)
    if key is None:
        raise InvalidRequest(f"encryption key not found: {name}")
    return key


def paths(store: KeyStore) -> list[Path]:
    async def encrypt(req: Request, d: FieldData) -> Response:
        name = d.get("name")
        key = await store.get(req.storage, name)
        if key is None:  # upsert, as Vault (the ACL already required `create` for this)
            async with store.lock(name):
                key = await store.get(req.storage, name)
                if key is None:
                    ktype = d.get("type")
                    if ktype not in tc.SYMMETRIC:
                        raise InvalidRequest(f"key type {ktype} does not support encryption")
                    key = TransitKey(name=name, type=ktype, derived=bool(d.raw.get("context")) or False,
                                     convergent_encryption=d.get("convergent_encryption"))
                    key.rotate()
                    await store.put(req.storage, key)
        k = key
        if not k.symmetric:
            raise InvalidRequest(f"key type {k.type} does not support encryption")

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            if "plaintext" not in item:
                raise InvalidRequest("missing plaintext to encrypt")
            plaintext = _b64_opt(item, "plaintext")
            version = k.encryption_version(int(item.get("key_version") or 0))
            ct = tc.encrypt(k.type, k.versions[version], version, plaintext, derived=k.derived,
                            context=_b64_opt(item, "context"), aad=_b64_opt(item, "associated_data") or None,
                            convergent=k.convergent_encryption)
            return {"ciphertext": ct, "key_version": version}

        return await batch.run(d, ("plaintext", "context", "key_version", "associated_data"), one)

    async def decrypt(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            version, blob = tc.split_versioned(str(item.get("ciphertext") or ""))
            pt = tc.decrypt(k.type, k.version_for_decrypt(version), blob, derived=k.derived,
                            context=_b64_opt(item, "context"), aad=_b64_opt(item, "associated_data") or None)
            return {"plaintext": tc.b64(pt)}

        return await batch.run(d, ("ciphertext", "context", "associated_data"), one)

    async def rewrap(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            version, blob = tc.split_versioned(str(item.get("ciphertext") or ""))
            ctx = _b64_opt(item, "context")
            aad = _b64_opt(item, "associated_data") or None
            pt = tc.decrypt(k.type, k.version_for_decrypt(version), blob, derived=k.derived, context=ctx, aad=aad)
            new_v = k.encryption_version(int(item.get("key_version") or 0))
            ct = tc.encrypt(k.type, k.versions[new_v], new_v, pt, derived=k.derived, context=ctx, aad=aad,
                            convergent=k.convergent_encryption)
            return {"ciphertext": ct, "key_version": new_v}

        return await batch.run(d, ("ciphertext", "context", "key_version", "associated_data"), one)

    async def datakey(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))
        bits = d.get("bits")
        if bits not in (128, 256, 512):
            raise InvalidRequest("invalid bits; must be 128, 256 or 512")
        plaintext = tc.random(bits // 8)
        version = k.encryption_version(d.get("key_version"))
        ct = tc.encrypt(k.type, k.versions[version], version, plaintext, derived=k.derived,
                        context=_b64_opt(d.raw, "context"), convergent=k.convergent_encryption)
        data: dict[str, Any] = {"ciphertext": ct, "key_version": version}
        if d.get("plaintext") == "plaintext":
            data["plaintext"] = tc.b64(plaintext)
        elif d.get("plaintext") != "wrapped":
            raise InvalidRequest("invalid path; must be plaintext or wrapped")
        return Response(data=data)

    async def exists(req: Request, d: FieldData) -> bool:
        return await store.get(req.storage, d.get("name")) is not None

    common = {"name": Field(S), "context": Field(S), "key_version": Field(N), "associated_data": Field(S),
              "batch_input": Field(SL), "partial_failure_response_code": Field(N), "nonce": Field(S)}
    return [
        Path(f"encrypt/{NAME}", {Op.UPDATE: encrypt}, existence_check=exists,
             fields={**common, "plaintext": Field(S, "base64 plaintext", sensitive=True),
                     "type": Field(S, default="aes256-gcm96"), "convergent_encryption": Field(B)},
             help_synopsis="Encrypt base64 plaintext (creates the key if it does not exist)."),
        Path(f"decrypt/{NAME}", {Op.UPDATE: decrypt}, fields={**common, "ciphertext": Field(S)},
             help_synopsis="Decrypt a vault:vN: ciphertext."),
        Path(f"rewrap/{NAME}", {Op.UPDATE: rewrap}, fields={**common, "ciphertext": Field(S)},
             help_synopsis="Re-encrypt a ciphertext with the latest key version without revealing it."),
        Path(f"datakey/(?P<plaintext>plaintext|wrapped)/{NAME}", {Op.UPDATE: datakey},
             fields={"name": Field(S), "plaintext": Field(S), "context": Field(S), "bits": Field(N, default=256),
                     "key_version": Field(N), "nonce": Field(S)},
             help_synopsis="Generate a data key, wrapped (and optionally in plaintext)."),
    ]
