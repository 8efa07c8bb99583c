"""Read etcd directly through its v3 JSON gRPC-gateway (httpx), or from a snapshot / `etcdctl -w json` dump.

The gateway ships with every etcd 3.4+ server and needs no generated stubs; reads are paginated at one fixed
revision so an audit of a busy cluster sees one consistent snapshot.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson


class EtcdError(Exception):
    """etcd unreachable, refused the request, or the dump is unreadable."""


@dataclass(frozen=True)
class KV:
    key: bytes
    value: bytes
    mod_revision: int = 0


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with `prefix` (etcd's clientv3.GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


class EtcdClient:
    def __init__(
        self,
        endpoint: str,
        *,
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        verify: ssl.SSLContext | bool = True
        if endpoint.startswith("https://"):
            ctx = ssl.create_default_context(cafile=cacert)
            if cert:
                ctx.load_cert_chain(cert, key)
            verify = ctx
        self._http = httpx.Client(base_url=endpoint.rstrip("/"), timeout=timeout, verify=verify)

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        try:
            resp = self._http.post(path, content=orjson.dumps(body))
        except httpx.HTTPError as exc:
            raise EtcdError(f"etcd request failed: {exc.__class__.__name__}: {exc}") from None
        if resp.status_code != 200:
            raise EtcdError(f"etcd {path} returned HTTP {resp.status_code}: {resp.text[:200]}")
        data: dict[str, object] = orjson.loads(resp.content)
        return data

    def put(self, key: bytes, value: bytes) -> None:
        self._post("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def get(self, key: bytes) -> KV | None:
        kvs = self._post("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        assert isinstance(kvs, list)
        return _kv(kvs[0]) if kvs else None

    def count(self, prefix: bytes) -> int:
        data = self._post(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)), "count_only": True}
        )
        return int(str(data.get("count", 0)))

    def scan(self, prefix: bytes, *, page: int = 2000) -> Iterator[KV]:
        """Every key under `prefix`, in key order, at one revision."""
        end = _b64(prefix_end(prefix))
        start, revision = prefix, 0
        while True:
            body: dict[str, object] = {"key": _b64(start), "range_end": end, "limit": page}
            if revision:
                body["revision"] = revision
            data = self._post("/v3/kv/range", body)
            header = data.get("header") or {}
            assert isinstance(header, dict)
            revision = revision or int(str(header.get("revision", 0)))
            kvs = data.get("kvs") or []
            assert isinstance(kvs, list)
            for item in kvs:
                yield _kv(item)
            if not data.get("more") or not kvs:
                return
            start = _kv(kvs[-1]).key + b"\x00"

    def close(self) -> None:
        self._http.close()


def _kv(item: object) -> KV:
    assert isinstance(item, dict)
    return KV(
        base64.b64decode(item.get("key", "")), base64.b64decode(item.get("value", "")), int(item.get("mod_revision", 0))
    )


def read_dump(path: str | Path, prefix: bytes = b"/registry/") -> list[KV]:
    """Keys from `etcdctl get --prefix /registry -w json` output (base64 keys and values)."""
    try:
        doc = orjson.loads(Path(path).read_bytes())
        kvs = [_kv(item) for item in doc.get("kvs") or []]
    except (OSError, orjson.JSONDecodeError, AttributeError, ValueError) as exc:
        raise EtcdError(f"{path} is not an `etcdctl get -w json` dump: {exc.__class__.__name__}") from None
    return sorted((kv for kv in kvs if kv.key.startswith(prefix)), key=lambda kv: kv.key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def snapshot_server(snapshot: str | Path) -> Iterator[str]:
    """Restore an etcd snapshot (`etcdctl snapshot save`) into a temporary loopback-only etcd; yields its URL."""
    etcd, etcdctl = shutil.which("etcd"), shutil.which("etcdutl") or shutil.which("etcdctl")
    if not etcd or not etcdctl:
        raise EtcdError("reading a snapshot needs the etcd and etcdctl binaries on PATH")
    root = tempfile.mkdtemp(prefix="strongroom-snap-")
    data = os.path.join(root, "data")
    client, peer = _free_port(), _free_port()
    peer_url = f"http://127.0.0.1:{peer}"
    restore = subprocess.run(
        [
            etcdctl,
            "snapshot",
            "restore",
            str(snapshot),
            "--data-dir",
            data,
            "--name",
            "dr",
            "--initial-cluster",
            f"dr={peer_url}",
            "--initial-advertise-peer-urls",
            peer_url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    if restore.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise EtcdError(f"snapshot restore failed: {restore.stderr.strip()[-300:]}")
    url = f"http://127.0.0.1:{client}"
    proc = subprocess.Popen(
        [
            etcd,
            "--name",
            "dr",
            "--data-dir",
            data,
            "--listen-client-urls",
            url,
            "--advertise-client-urls",
            url,
            "--listen-peer-urls",
            peer_url,
            "--initial-advertise-peer-urls",
            peer_url,
            "--initial-cluster",
            f"dr={peer_url}",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", client), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise EtcdError("temporary etcd for the snapshot did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
