"""Fixtures for the sealing tests: key pairs (2048-bit for speed, one 4096-bit like upstream) and the npm peer."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from strongroom import sealing
from strongroom.crypto import _primitives as prim

NODE_DIR = Path(__file__).parent / "node"


@dataclass(frozen=True)
class KeyPair:
    key: sealing.RSAPrivateKey
    cert_pem: bytes

    @property
    def public(self) -> sealing.RSAPublicKey:
        return sealing.load_recipient(self.cert_pem)

    @property
    def pkcs8_pem(self) -> bytes:
        return prim.private_key_to_pem(self.key)

    @property
    def pkcs1_pem(self) -> bytes:
        return sealing.private_key_pem(self.key)


def _pair(bits: int) -> KeyPair:
    key, cert = sealing.generate_key_pair(bits)
    return KeyPair(key, cert)


@pytest.fixture(scope="session")
def pair() -> KeyPair:
    return _pair(2048)


@pytest.fixture(scope="session")
def other_pair() -> KeyPair:
    return _pair(2048)


@pytest.fixture(scope="session")
def pair4096() -> KeyPair:
    return _pair(4096)


def make_secret(name: str = "db", namespace: str | None = "prod", **values: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    data = {k: base64.b64encode(v).decode() for k, v in (values or {"password": b"hunter2"}).items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data}


NodePeer = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def node_peer() -> NodePeer:
    """Runs operations through npm @socialgouv/aes-gcm-rsa-oaep (installed from the committed lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are needed for the npm compatibility tests (scripts/install-test-deps)")
    if not (NODE_DIR / "node_modules" / "@socialgouv" / "aes-gcm-rsa-oaep").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=240)

    def run(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc = subprocess.run([node, str(NODE_DIR / "peer.cjs")], input=json.dumps(ops).encode(),
                              capture_output=True, check=True, timeout=120)
        results: list[dict[str, Any]] = json.loads(proc.stdout)
        return results

    return run
