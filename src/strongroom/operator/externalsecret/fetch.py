"""Collect an ExternalSecret's provider data: `data[]` then `dataFrom[]` in list order (later entries win).

I/O lives here (provider calls), decisions in `desired`. Every remote key read is reported to `touch` so change
events for that key can refresh exactly the ExternalSecrets that use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from strongroom.operator.externalsecret import desired as d
from strongroom.operator.externalsecret.providers import NoSecretError, ProviderClient, Ref, StoreConfigError

Resolve = Callable[[dict[str, Any] | None], Awaitable[tuple[ProviderClient, tuple[str, str, str]]]]


@dataclass
class Fetched:
    data: dict[str, bytes] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # value-free descriptions of what the provider lacks
    refs: int = 0
    touched: set[tuple[tuple[str, str, str], str]] = field(default_factory=set)


def _logical(client: ProviderClient, key: str) -> str:
    fn = getattr(client, "logical_key", None)
    return str(fn(key)) if fn is not None else key


async def fetch(es: dict[str, Any], resolve: Resolve) -> Fetched:
    spec = es.get("spec") or {}
    out = Fetched()
    for i, entry in enumerate(spec.get("data") or []):
        key = entry.get("secretKey")
        remote = entry.get("remoteRef") or {}
        if not key or not remote.get("key"):
            raise StoreConfigError(f"spec.data[{i}] needs secretKey and remoteRef.key")
        client, sid = await resolve(entry)
        ref = Ref.of(remote)
        out.refs += 1
        out.touched.add((sid, _logical(client, ref.key)))
        try:
            value = await client.get_secret(ref)
        except NoSecretError as exc:
            out.missing.append(f"spec.data[{i}]: {exc}")
            continue
        if remote.get("nullBytePolicy") == "Fail" and b"\x00" in value:
            raise d.SyncError(f"spec.data[{i}]: value contains a NUL byte (nullBytePolicy=Fail)")
        out.data[str(key)] = d.decode(value, str(remote.get("decodingStrategy") or "None"), f"spec.data[{i}]")
    for i, entry in enumerate(spec.get("dataFrom") or []):
        out.data.update(await _data_from(i, entry, resolve, out))
    return out


async def _data_from(i: int, entry: dict[str, Any], resolve: Resolve, out: Fetched) -> dict[str, bytes]:
    where = f"spec.dataFrom[{i}]"
    kinds = [k for k in ("extract", "find") if entry.get(k)]
    if len(kinds) != 1:
        if (entry.get("sourceRef") or {}).get("generatorRef"):
            raise d.SyncError(f"{where}: generators are not supported yet")
        raise d.SyncError(f"{where} needs exactly one of extract or find")
    client, sid = await resolve(entry)
    out.refs += 1
    spec = entry[kinds[0]]
    try:
        if kinds[0] == "extract":
            ref = Ref.of(spec)
            out.touched.add((sid, _logical(client, ref.key)))
            raw = await client.get_secret_map(ref)
        else:
            out.touched.add((sid, "*"))
            raw = await client.find(str(spec.get("path") or ""), str((spec.get("name") or {}).get("regexp") or ""),
                                    dict(spec.get("tags") or {}))
    except NoSecretError:
        out.missing.append(f"secret does not exist at provider using {where}")
        return {}
    strategy = str(spec.get("decodingStrategy") or "None")
    conv = str(spec.get("conversionStrategy") or "Default")
    data = {d.convert_key(k, conv): d.decode(v, strategy, where) for k, v in raw.items()}
    return d.rewrite(data, list(entry.get("rewrite") or []), where)
