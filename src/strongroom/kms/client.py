"""A KMS v2 gRPC client that calls a plugin the way the API server does (used by `atrest decrypt`, probes)."""

from __future__ import annotations

import grpc

from strongroom.kms._proto import kms_v2_api_pb2 as pb2
from strongroom.kms._proto import kms_v2_api_pb2_grpc as pb2_grpc
from strongroom.kms.server import grpc_target, socket_path


class KMSClient:
    def __init__(self, endpoint: str, *, timeout: float = 3.0) -> None:
        self._channel = grpc.insecure_channel(grpc_target(socket_path(endpoint)))
        self._stub = pb2_grpc.KeyManagementServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

    def status(self) -> pb2.StatusResponse:
        resp: pb2.StatusResponse = self._stub.Status(pb2.StatusRequest(), timeout=self.timeout)
        return resp

    def encrypt(self, plaintext: bytes, uid: str = "") -> pb2.EncryptResponse:
        req = pb2.EncryptRequest(plaintext=plaintext, uid=uid)
        resp: pb2.EncryptResponse = self._stub.Encrypt(req, timeout=self.timeout)
        return resp

    def decrypt(
        self, ciphertext: bytes, key_id: str, annotations: dict[str, bytes] | None = None, uid: str = ""
    ) -> bytes:
        req = pb2.DecryptRequest(ciphertext=ciphertext, key_id=key_id, annotations=annotations or {}, uid=uid)
        resp: pb2.DecryptResponse = self._stub.Decrypt(req, timeout=self.timeout)
        return resp.plaintext

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> KMSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
