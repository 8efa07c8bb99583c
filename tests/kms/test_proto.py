"""The committed stubs speak the upstream KMS v2 wire contract and match what scripts/gen-kms-proto generates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from strongroom.kms._proto import kms_v2_api_pb2 as api
from strongroom.kms._proto import kmsv2_encrypted_object_pb2 as eo

PROTO = Path(__file__).resolve().parents[2] / "src" / "strongroom" / "kms" / "_proto"


def _fields(msg) -> dict[str, int]:
    return {f.name: f.number for f in msg.DESCRIPTOR.fields}


def test_service_and_field_numbers_match_the_contract() -> None:
    svc = api.DESCRIPTOR.services_by_name["KeyManagementService"]
    assert svc.full_name == "v2.KeyManagementService"
    assert [m.name for m in svc.methods] == ["Status", "Decrypt", "Encrypt"]
    assert _fields(api.StatusResponse) == {"version": 1, "healthz": 2, "key_id": 3}
    assert _fields(api.EncryptRequest) == {"plaintext": 1, "uid": 2}
    assert _fields(api.EncryptResponse) == {"ciphertext": 1, "key_id": 2, "annotations": 3}
    assert _fields(api.DecryptRequest) == {"ciphertext": 1, "uid": 2, "key_id": 3, "annotations": 4}
    assert _fields(api.DecryptResponse) == {"plaintext": 1}
    assert eo.EncryptedObject.DESCRIPTOR.full_name == "v2.EncryptedObject"
    assert _fields(eo.EncryptedObject) == {
        "encryptedData": 1,
        "keyID": 2,
        "encryptedDEKSource": 3,
        "annotations": 4,
        "encryptedDEKSourceType": 5,
    }
    assert (eo.AES_GCM_KEY, eo.HKDF_SHA256_XNONCE_AES_GCM_SEED) == (0, 1)


def test_committed_stubs_are_what_protoc_generates(tmp_path: Path) -> None:
    for name in ("kms_v2_api.proto", "kmsv2_encrypted_object.proto"):
        shutil.copy(PROTO / name, tmp_path / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(tmp_path),
            f"--python_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            str(tmp_path / "kms_v2_api.proto"),
        ],
        check=True,
    )
    fresh = (tmp_path / "kms_v2_api_pb2.py").read_text()
    committed = (PROTO / "kms_v2_api_pb2.py").read_text()
    serialized = [line for line in fresh.splitlines() if "AddSerializedFile" in line]
    assert serialized and serialized[0] in committed
