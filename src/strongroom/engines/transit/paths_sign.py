"""sign, verify, hmac, random, hash."""

from __future__ import annotations

from typing import Any

from strongroom.crypto import transit as tc
from strongroom.crypto.errors import VerificationError
from strongroom.engines.transit import batch
from strongroom.engines.transit.keystore import KeyStore
from strongroom.engines.transit.paths_crypt import _b64_opt, _key
from strongroom.engines.transit.paths_keys import NAME
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

S, N, B, SL = FieldType.STRING, FieldType.INT, FieldType.BOOL, FieldType.SLICE
HASHES = ("sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256", "sha3-384", "sha3-512")


def _algo(d: FieldData, url_field: str, body_field: str) -> str:
    algo = d.get(url_field) or d.get(body_field) or "sha2-256"
    algo = {"sha224": "sha2-224", "sha256": "sha2-256", "sha384": "sha2-384", "sha512": "sha2-512"}.get(algo, algo)
    if algo not in HASHES:
        raise InvalidRequest(f"unsupported hash algorithm {algo}")
    return str(algo)


def paths(store: KeyStore) -> list[Path]:
    async def sign(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))
        if not k.asymmetric:
            raise InvalidRequest(f"key type {k.type} does not support signing")
        algo = _algo(d, "urlalgorithm", "hash_algorithm")
        padding = d.get("signature_algorithm") or "pss"
        if padding not in ("pss", "pkcs1v15"):
            raise InvalidRequest("signature_algorithm must be pss or pkcs1v15")

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            data = _b64_opt(item, "input")
            version = k.encryption_version(int(item.get("key_version") or d.get("key_version") or 0))
            sig = tc.sign(k.versions[version], version, data, hash_name=algo, rsa_padding=padding,
                          prehashed=d.get("prehashed"))
            out: dict[str, Any] = {"signature": sig, "key_version": version}
            if k.type == "ed25519":
                out["public_key"] = tc.public_key_for_api(k.type, k.versions[version])
            return out

        return await batch.run(d, ("input", "key_version"), one)

    async def verify(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))
        algo = _algo(d, "urlalgorithm", "hash_algorithm")
        padding = d.get("signature_algorithm") or "pss"

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            data = _b64_opt(item, "input")
            if item.get("hmac"):
                version, given = tc.split_versioned(str(item["hmac"]), "hmac")
                ok = tc.verify_hmac(k.version_for_decrypt(version), given, data, algo)
                return {"valid": ok}
            if not k.asymmetric:
                raise InvalidRequest(f"key type {k.type} does not support verification")
            version, sig = tc.split_versioned(str(item.get("signature") or ""), "signature")
            try:
                tc.verify(k.version_for_decrypt(version), sig, data, hash_name=algo, rsa_padding=padding,
                          prehashed=d.get("prehashed"))
                return {"valid": True}
            except VerificationError:
                return {"valid": False}

        return await batch.run(d, ("input", "signature", "hmac"), one)

    async def hmac(req: Request, d: FieldData) -> Response:
        k = await _key(store, req, d.get("name"))
        algo = _algo(d, "urlalgorithm", "algorithm")

        async def one(item: dict[str, Any]) -> dict[str, Any]:
            version = k.encryption_version(int(item.get("key_version") or d.get("key_version") or 0))
            return {"hmac": tc.hmac(k.versions[version], version, _b64_opt(item, "input"), algo)}

        return await batch.run(d, ("input", "key_version"), one)

    async def random(req: Request, d: FieldData) -> Response:
        n = d.get("bytes") or (int(d.get("urlbytes")) if d.get("urlbytes") else 32)
        if not 1 <= n <= 128 * 1024:
            raise InvalidRequest("the number of bytes must be between 1 and 131072")
        raw = tc.random(n)
        return Response(data={"random_bytes": raw.hex() if d.get("format") == "hex" else tc.b64(raw)})

    async def hash_(req: Request, d: FieldData) -> Response:
        algo = _algo(d, "urlalgorithm", "algorithm")
        out = tc.digest(algo, _b64_opt(d.raw, "input"))
        return Response(data={"sum": out.hex() if d.get("format") == "hex" else tc.b64(out)})

    sign_fields = {"name": Field(S), "input": Field(S), "key_version": Field(N), "hash_algorithm": Field(S),
                   "urlalgorithm": Field(S), "prehashed": Field(B), "signature_algorithm": Field(S),
                   "marshaling_algorithm": Field(S, default="asn1"), "batch_input": Field(SL), "context": Field(S),
                   "partial_failure_response_code": Field(N)}
    algo_re = r"(/(?P<urlalgorithm>[\w-]+))?"
    return [
        Path(f"sign/{NAME}{algo_re}", {Op.UPDATE: sign}, fields=sign_fields,
             help_synopsis="Sign base64 input with an asymmetric key."),
        Path(f"verify/{NAME}{algo_re}", {Op.UPDATE: verify},
             fields={**sign_fields, "signature": Field(S), "hmac": Field(S), "algorithm": Field(S)},
             help_synopsis="Verify a signature or an HMAC."),
        Path(f"hmac/{NAME}{algo_re}", {Op.UPDATE: hmac},
             fields={"name": Field(S), "input": Field(S), "key_version": Field(N), "algorithm": Field(S),
                     "urlalgorithm": Field(S), "batch_input": Field(SL), "partial_failure_response_code": Field(N)},
             help_synopsis="HMAC base64 input with a key's HMAC key."),
        Path(r"random(/(?P<source>platform|seal|all))?(/(?P<urlbytes>\d+))?", {Op.UPDATE: random},
             fields={"bytes": Field(N), "urlbytes": Field(S), "format": Field(S, default="base64"),
                     "source": Field(S)}, help_synopsis="Random bytes."),
        Path(r"hash(/(?P<urlalgorithm>[\w-]+))?", {Op.UPDATE: hash_},
             fields={"input": Field(S), "algorithm": Field(S), "urlalgorithm": Field(S),
                     "format": Field(S, default="hex")}, help_synopsis="Hash base64 input."),
    ]
