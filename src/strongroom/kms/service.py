"""The `v2.KeyManagementService` servicer: Status / Encrypt / Decrypt over one KEK backend.

Status runs a real wrap/unwrap probe, cached for `status_ttl` seconds (the API server polls it and several
API servers may share a plugin). Decrypted seeds may be cached (bounded LRU with TTL) because the API server
calls Decrypt thousands of times at startup; the cache is keyed by (key_id, ciphertext) and holds only what
the API server itself caches.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from strongroom.crypto import constant_time_eq, random_bytes
from strongroom.kms import keyid
from strongroom.kms._proto import kms_v2_api_pb2 as pb2
from strongroom.kms._proto import kms_v2_api_pb2_grpc as pb2_grpc
from strongroom.kms.backend import BackendError, BadCiphertext, KEKBackend

MAX_CIPHERTEXT = 1024
MAX_KEY_ID = 1024
MAX_ANNOTATIONS = 32 * 1024
ANNOTATION = "format.kms.strongroom.dev"
FORMAT = b"1"
_DNS = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.ops = Counter("strongroom_kms_operations_total", "KMS gRPC calls", ["method", "code"], registry=registry)
        self.latency = Histogram(
            "strongroom_kms_operation_duration_seconds",
            "KMS gRPC call latency",
            ["method"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 3),
        )
        self.healthy = Gauge("strongroom_kms_healthy", "1 when the last Status probe succeeded", registry=registry)
        self.key_id = Gauge(
            "strongroom_kms_key_id_info",
            "current key_id (sha256 hash only)",
            ["key_id_hash"],
            registry=registry,
        )
        self.cache_hits = Counter(
            "strongroom_kms_decrypt_cache_hits_total", "Decrypts served from cache", registry=registry
        )


@dataclass
class _Status:
    at: float
    healthz: str
    key_id: str


class _SeedCache:
    def __init__(self, size: int, ttl: float) -> None:
        self._size, self._ttl = size, ttl
        self._data: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, k: bytes) -> bytes | None:
        if self._size <= 0:
            return None
        with self._lock:
            hit = self._data.get(k)
            if hit is None or hit[0] < time.monotonic():
                self._data.pop(k, None)
                return None
            self._data.move_to_end(k)
            return hit[1]

    def put(self, k: bytes, v: bytes) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._data[k] = (time.monotonic() + self._ttl, v)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class KMSService(pb2_grpc.KeyManagementServiceServicer):
    def __init__(
        self,
        backend: KEKBackend,
        *,
        journal: keyid.Journal | None = None,
        status_ttl: float = 10.0,
        cache_size: int = 1000,
        cache_ttl: float = 300.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.backend = backend
        self.journal = journal or keyid.Journal()
        self.metrics = Metrics(registry or CollectorRegistry())
        self._status_ttl = status_ttl
        self._status: _Status | None = None
        self._status_lock = threading.Lock()
        self._cache = _SeedCache(cache_size, cache_ttl)

    # --- helpers ----------------------------------------------------------------------------------
    def _key_id(self, version: int) -> str:
        key_id = self.journal.issue(keyid.base_id(self.backend.lineage, version))
        if len(key_id) > MAX_KEY_ID:
            raise BackendError("key_id would exceed 1 KiB")
        return key_id

    def probe(self) -> _Status:
        """Real wrap + unwrap of a random seed; cached. Unhealthy results are cached for at most 1 s."""
        with self._status_lock:
            now = time.monotonic()
            cur = self._status
            if cur is not None and now - cur.at < (self._status_ttl if cur.healthz == "ok" else 1.0):
                return cur
            last_id = cur.key_id if cur else ""
            try:
                seed = random_bytes(32)
                ct, version = self.backend.wrap(seed)
                if not constant_time_eq(self.backend.unwrap(ct), seed):
                    raise BackendError("probe round trip returned different bytes")
                status = _Status(now, "ok", self._key_id(version))
            except BackendError as exc:
                status = _Status(now, f"err: {exc}"[:512], last_id or "unavailable")
            self._status = status
            self.metrics.healthy.set(1 if status.healthz == "ok" else 0)
            self.metrics.key_id.clear()
            self.metrics.key_id.labels(hashlib.sha256(status.key_id.encode()).hexdigest()).set(1)
            return status

    def _done(self, method: str, code: grpc.StatusCode, start: float) -> None:
        self.metrics.ops.labels(method, code.name).inc()
        self.metrics.latency.labels(method).observe(time.perf_counter() - start)

    def _fail(self, ctx: grpc.ServicerContext, method: str, start: float, code: grpc.StatusCode, msg: str) -> None:
        self._done(method, code, start)
        ctx.abort(code, msg)

    # --- RPCs -------------------------------------------------------------------------------------
    def Status(self, request: pb2.StatusRequest, context: grpc.ServicerContext) -> pb2.StatusResponse:
        start = time.perf_counter()
        st = self.probe()
        self._done("Status", grpc.StatusCode.OK, start)
        return pb2.StatusResponse(version="v2", healthz=st.healthz, key_id=st.key_id)

    def Encrypt(self, request: pb2.EncryptRequest, context: grpc.ServicerContext) -> pb2.EncryptResponse:
        start = time.perf_counter()
        if not request.plaintext or len(request.plaintext) > 1024:
            self._fail(context, "Encrypt", start, grpc.StatusCode.INVALID_ARGUMENT, "plaintext must be 1..1024 bytes")
        try:
            ct, version = self.backend.wrap(request.plaintext)
            key_id = self._key_id(version)
        except BackendError as exc:
            self._fail(context, "Encrypt", start, grpc.StatusCode.UNAVAILABLE, str(exc))
            raise  # unreachable: abort raises
        if len(ct) > MAX_CIPHERTEXT:
            self._fail(context, "Encrypt", start, grpc.StatusCode.INTERNAL, "backend ciphertext exceeds 1 KiB")
        cur = self._status
        if cur is not None and cur.key_id != key_id:
            with self._status_lock:
                self._status = None  # KEK changed: next Status reports the new key_id
        self._done("Encrypt", grpc.StatusCode.OK, start)
        return pb2.EncryptResponse(ciphertext=ct, key_id=key_id, annotations={ANNOTATION: FORMAT})

    def _check_decrypt(self, request: pb2.DecryptRequest) -> str | None:
        if not request.ciphertext or len(request.ciphertext) > MAX_CIPHERTEXT:
            return "ciphertext must be 1..1024 bytes"
        if not request.key_id or len(request.key_id) > MAX_KEY_ID:
            return "key_id must be 1..1024 bytes"
        try:
            lineage, _ = keyid.parse(request.key_id)
        except ValueError:
            return "key_id was not issued by this plugin"
        if lineage != self.backend.lineage:
            return "key_id belongs to another KEK lineage"
        size = sum(len(k) + len(v) for k, v in request.annotations.items())
        if size > MAX_ANNOTATIONS or any(not _DNS.match(k) for k in request.annotations):
            return "annotations exceed 32 KiB or have keys that are not fully-qualified DNS names"
        if request.annotations.get(ANNOTATION, FORMAT) != FORMAT:
            return "unsupported strongroom ciphertext format annotation"
        return None

    def Decrypt(self, request: pb2.DecryptRequest, context: grpc.ServicerContext) -> pb2.DecryptResponse:
        start = time.perf_counter()
        problem = self._check_decrypt(request)
        if problem:
            self._fail(context, "Decrypt", start, grpc.StatusCode.INVALID_ARGUMENT, problem)
        ck = hashlib.sha256(request.key_id.encode() + b"\x00" + request.ciphertext).digest()
        plain = self._cache.get(ck)
        if plain is not None:
            self.metrics.cache_hits.inc()
        else:
            try:
                plain = self.backend.unwrap(request.ciphertext)
            except BadCiphertext as exc:
                self._fail(context, "Decrypt", start, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                raise
            except BackendError as exc:
                self._fail(context, "Decrypt", start, grpc.StatusCode.UNAVAILABLE, str(exc))
                raise
            self._cache.put(ck, plain)
        self._done("Decrypt", grpc.StatusCode.OK, start)
        return pb2.DecryptResponse(plaintext=plain)
