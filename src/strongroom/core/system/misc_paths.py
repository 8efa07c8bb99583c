"""sys/internal/specs/openapi, sys/tools/*, sys/host-info-lite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from typing import TYPE_CHECKING, Any

from strongroom import __version__
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def _expand_optional(url: str) -> list[str]:
    """'/sys/(leases/)renew(/{id})' -> every variant with each leftover optional group present or absent.

    The framework's regex->template conversion keeps optional groups like Vault's `(leases/)?`; OpenAPI paths
    must be literal, so (as Vault's expandPattern does) each combination becomes its own path.
    """
    m = re.search(r"\(([^()]*)\)", url)
    if m is None:
        return [url.replace("//", "/")]
    head, body, tail = url[:m.start()], m.group(1), url[m.end():]
    return [*_expand_optional(head + body + tail), *_expand_optional(head + tail)]


def _literal_paths(items: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for url, item in items.items():
        for variant in _expand_optional(url):
            if variant.endswith("/.") or (variant.endswith("/") and variant.rstrip("/") in items):
                continue  # residue of a catch-all regex (`.*`), or a duplicate differing by a slash
            names = set(re.findall(r"{(\w+)}", variant))
            v = dict(item)
            params = [p for p in item.get("parameters", []) if p["in"] != "path" or p["name"] in names]
            if params:
                v["parameters"] = params
            else:
                v.pop("parameters", None)
            out.setdefault(variant, v)
    return out


def openapi_document(core: Core) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in sorted(core.router.routes(), key=lambda r: r.prefix):
        paths.update(_literal_paths(route.backend.openapi(route.prefix)))
    return {"openapi": "3.0.2", "info": {"title": "Strongroom API", "version": __version__,
                                          "description": "Vault-compatible HTTP API of Strongroom"},
            "paths": paths, "components": {"securitySchemes": {"token": {
                "type": "apiKey", "in": "header", "name": "X-Vault-Token"}}}}


def paths(core: Core) -> list[Path]:
    async def openapi(req: Request, d: FieldData) -> Response:
        return Response(data=openapi_document(core), plain=True)

    async def random(req: Request, d: FieldData) -> Response:
        n = d.get("bytes") or (int(d.get("urlbytes")) if d.get("urlbytes") else 32)
        if not 1 <= n <= 128 * 1024:
            raise InvalidRequest("number of bytes must be between 1 and 131072")
        raw = os.urandom(n)
        fmt = d.get("format")
        return Response(data={"random_bytes": raw.hex() if fmt == "hex" else base64.b64encode(raw).decode()})

    async def hash_(req: Request, d: FieldData) -> Response:
        algo = (d.get("urlalgorithm") or d.get("algorithm") or "sha2-256").replace("sha2-", "sha")
        names = {"sha224": "sha224", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
                 "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384", "sha3-512": "sha3_512"}
        if algo not in names:
            raise InvalidRequest(f"unsupported algorithm {algo}")
        try:
            data = base64.b64decode(d.get("input"), validate=True)
        except ValueError:
            raise InvalidRequest("unable to decode input as base64") from None
        digest = hashlib.new(names[algo], data).digest()
        fmt = d.get("format")
        return Response(data={"sum": digest.hex() if fmt == "hex" else base64.b64encode(digest).decode()})

    _ = hmac
    rf = {"bytes": Field(FieldType.INT), "urlbytes": Field(FieldType.STRING),
          "format": Field(FieldType.STRING, default="base64"), "source": Field(FieldType.STRING)}
    hf = {"input": Field(FieldType.STRING), "algorithm": Field(FieldType.STRING),
          "urlalgorithm": Field(FieldType.STRING), "format": Field(FieldType.STRING, default="hex")}
    return [
        Path("internal/specs/openapi", {Op.READ: openapi}, help_synopsis="Generated OpenAPI document."),
        Path(r"tools/random(/(?P<urlbytes>\d+))?", {Op.UPDATE: random}, fields=rf),
        Path(r"tools/hash(/(?P<urlalgorithm>[\w-]+))?", {Op.UPDATE: hash_}, fields=hf),
    ]
