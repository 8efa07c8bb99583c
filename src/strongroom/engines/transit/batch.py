"""Vault's batch_input convention: one item or many, per-item errors, 400 when any item failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strongroom.crypto import CryptoError
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.framework import FieldData
from strongroom.sdk.request import Response

Item = dict[str, Any]


async def run(d: FieldData, single_fields: tuple[str, ...], fn: Callable[[Item], Awaitable[Item]]) -> Response:
    batch = d.get("batch_input") if d.has("batch_input") else None
    if batch is None:
        item = {f: d.raw.get(f) for f in single_fields if d.raw.get(f) is not None}
        try:
            return Response(data=await fn(item))
        except CryptoError as exc:
            raise InvalidRequest(str(exc)) from None
    if not isinstance(batch, list) or not batch:
        raise InvalidRequest("batch_input must be a non-empty list")
    results: list[Item] = []
    failed = False
    for raw in batch:
        if not isinstance(raw, dict):
            results.append({"error": "batch item must be an object"})
            failed = True
            continue
        try:
            out = await fn(raw)
        except (InvalidRequest, CryptoError) as exc:
            out = {"error": str(exc)}
            failed = True
        if "reference" in raw:
            out["reference"] = raw["reference"]
        results.append(out)
    resp = Response(data={"batch_results": results})
    if failed:
        code = d.get("partial_failure_response_code") if d.has("partial_failure_response_code") else 0
        all_failed = all("error" in r for r in results)
        resp.raw_status = 400 if (all_failed or not code) else int(code)
    return resp
