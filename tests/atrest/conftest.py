"""Shared helpers: the stored vectors as an EncryptionConfiguration, a keyring KMS plugin on a short socket."""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml

from strongroom.kms import keyring as kr
from strongroom.kms.keyring import KeyringBackend
from strongroom.kms.server import PluginServer
from strongroom.kms.service import KMSService

VECTORS = orjson.loads((Path(__file__).resolve().parents[1] / "vectors" / "atrest" / "formats.json").read_bytes())


def vector_config(kms_endpoint: str) -> dict[str, object]:
    """secretbox key3 writes; the vectors' other keys and the kms provider can still read."""
    keys = {v["keyName"]: v["secret"] for v in VECTORS if "secret" in v}
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [
                    {"secretbox": {"keys": [{"name": "key3", "secret": keys["key3"]}]}},
                    {
                        "aesgcm": {
                            "keys": [{"name": "key0", "secret": keys["key0"]}, {"name": "key1", "secret": keys["key1"]}]
                        }
                    },
                    {"aescbc": {"keys": [{"name": "key2", "secret": keys["key2"]}]}},
                    {"kms": {"apiVersion": "v2", "name": "vault-kms", "endpoint": kms_endpoint, "timeout": "3s"}},
                    {"identity": {}},
                ],
            }
        ],
    }


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="srat-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def plugin(short_dir: Path) -> Iterator[PluginServer]:
    ring = short_dir / "ring.json"
    kr.create(ring)
    server = PluginServer(KMSService(KeyringBackend(ring), status_ttl=0), f"unix://{short_dir}/kms.sock")
    server.start()
    yield server
    server.stop(1)


@pytest.fixture
def config_file(short_dir: Path, plugin: PluginServer) -> Path:
    path = short_dir / "enc.yaml"
    path.write_text(yaml.safe_dump(vector_config(f"unix://{plugin.path}"), sort_keys=False))
    path.chmod(0o600)
    return path


def b64(x: str) -> bytes:
    return base64.b64decode(x)
