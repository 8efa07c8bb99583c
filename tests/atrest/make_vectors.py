"""Regenerate tests/vectors/atrest/formats.json: one etcd value per provider in its exact on-disk layout.

Run once: `.venv/bin/python -m tests.atrest.make_vectors`. The tests cross-check every vector with decoders we
did not write (openssl CLI for AES-CBC, node's crypto for AES-GCM and HKDF, PyNaCl for secretbox, protoc
--decode_raw for the KMS v2 EncryptedObject).
"""

from __future__ import annotations

import base64
from pathlib import Path

import orjson

from strongroom.atrest import formats, k8sproto
from strongroom.atrest.config import Key

OUT = Path(__file__).resolve().parents[1] / "vectors" / "atrest" / "formats.json"


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def build() -> list[dict[str, object]]:
    vectors: list[dict[str, object]] = []
    for i, (provider, size) in enumerate([("aesgcm", 32), ("aesgcm", 16), ("aescbc", 32), ("secretbox", 32)]):
        key = Key(f"key{i}", bytes(range(i, i + size)))
        etcd_key = f"/registry/secrets/ns{i}/{provider}-{size}".encode()
        plain = k8sproto.encode_secret(f"{provider}-{size}", f"ns{i}", {"password": f"hunter{i}".encode()})
        vectors.append(
            {
                "provider": provider,
                "keyName": key.name,
                "secret": b64(key.secret),
                "etcdKey": etcd_key.decode(),
                "plaintext": b64(plain),
                "value": b64(formats.seal_local(provider, key, plain, etcd_key)),
            }
        )
    seed = bytes(range(100, 132))
    etcd_key = b"/registry/secrets/kube-system/kms-v2"
    plain = k8sproto.encode_secret("kms-v2", "kube-system", {"token": b"s3cr3t"})
    value = formats.seal_kms_v2(
        "vault-kms",
        seed,
        b"opaque-encrypted-seed",
        "sr1:keyring/vec:v1",
        {"format.kms.strongroom.dev": b"1"},
        plain,
        etcd_key,
    )
    vectors.append(
        {
            "provider": "kms",
            "keyName": "vault-kms",
            "seed": b64(seed),
            "etcdKey": etcd_key.decode(),
            "encryptedSeed": b64(b"opaque-encrypted-seed"),
            "keyID": "sr1:keyring/vec:v1",
            "plaintext": b64(plain),
            "value": b64(value),
        }
    )
    return vectors


if __name__ == "__main__":
    OUT.write_bytes(orjson.dumps(build(), option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {OUT}")
