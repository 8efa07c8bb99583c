"""Just enough of Kubernetes' protobuf storage encoding to recover Secrets and ConfigMaps for disaster recovery.

Built-in objects are stored as `k8s\\x00` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}; raw is the
object's own protobuf. Hand-written (a small wire-format reader) because the generated Kubernetes protos are
not on PyPI; only the few fields DR needs are read, everything else is skipped by wire type.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

MAGIC = b"k8s\x00"


class ProtoError(ValueError):
    pass


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ProtoError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level (field number, value) pairs; length-delimited values as bytes, varints as int."""
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = _varint(buf, i)
            out.append((num, v))
        elif wt == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ProtoError("truncated field")
            out.append((num, buf[i : i + n]))
            i += n
        elif wt in (1, 5):
            i += 8 if wt == 1 else 4
        else:
            raise ProtoError(f"unsupported wire type {wt}")
    return out


def _str(v: int | bytes) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _map_entry(v: int | bytes) -> tuple[str, bytes]:
    k, val = "", b""
    for n, x in fields(v if isinstance(v, bytes) else b""):
        if n == 1:
            k = _str(x)
        elif n == 2 and isinstance(x, bytes):
            val = x
    return k, val


def _meta(buf: bytes) -> dict[str, Any]:
    names = {1: "name", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for n, v in fields(buf):
        if n in names:
            meta[names[n]] = _str(v)
        elif n in (11, 12):
            k, val = _map_entry(v)
            meta.setdefault("labels" if n == 11 else "annotations", {})[k] = val.decode(errors="replace")
    return meta


def decode_object(value: bytes) -> dict[str, Any]:
    """A stored plaintext value -> a Kubernetes-style dict (Secret/ConfigMap decoded; others: metadata only)."""
    if not value.startswith(MAGIC):
        try:
            doc = orjson.loads(value)  # custom resources and old JSON-encoded objects
        except orjson.JSONDecodeError:
            raise ProtoError("neither k8s protobuf nor JSON") from None
        if not isinstance(doc, dict):
            raise ProtoError("JSON value is not an object")
        return doc
    api_version = kind = ""
    raw = b""
    for n, v in fields(value[len(MAGIC) :]):
        if n == 1 and isinstance(v, bytes):
            tm = dict(fields(v))
            api_version, kind = _str(tm.get(1, b"")), _str(tm.get(2, b""))
        elif n == 2 and isinstance(v, bytes):
            raw = v
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    for n, v in fields(raw):
        if n == 1 and isinstance(v, bytes):
            obj["metadata"] = _meta(v)
        elif kind == "Secret" and n == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = base64.b64encode(val).decode()
        elif kind == "Secret" and n == 3:
            obj["type"] = _str(v)
        elif kind == "ConfigMap" and n == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = val.decode(errors="replace")
        elif kind == "ConfigMap" and n == 3:
            k, val = _map_entry(v)
            obj.setdefault("binaryData", {})[k] = base64.b64encode(val).decode()
    return obj


# --- encoding (test vectors, fake API server) -----------------------------------------------------


def _enc_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(num: int, data: bytes) -> bytes:
    return _enc_varint(num << 3 | 2) + _enc_varint(len(data)) + data


def encode_secret(name: str, namespace: str, data: dict[str, bytes], type_: str = "Opaque") -> bytes:
    """A v1 Secret in the API server's storage encoding (k8s protobuf envelope)."""
    meta = _ld(1, name.encode()) + _ld(3, namespace.encode())
    body = _ld(1, meta) + b"".join(_ld(2, _ld(1, k.encode()) + _ld(2, v)) for k, v in sorted(data.items()))
    body += _ld(3, type_.encode())
    unknown = _ld(1, _ld(1, b"v1") + _ld(2, b"Secret")) + _ld(2, body)
    return MAGIC + unknown
