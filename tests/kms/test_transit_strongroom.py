"""The KMS plugin's transit KEK backend against Strongroom's own transit engine (the same code that works
against OpenBao in test_backends.py), with the least-privilege policy we ship for it."""

from __future__ import annotations

from pathlib import Path

import hvac

from strongroom.kms.transit import TransitBackend
from tests.kms.test_backends import _lifecycle, _serve

POLICY = Path(__file__).resolve().parents[2] / "deploy" / "kms-plugin" / "transit-policy.hcl"


def test_kms_plugin_on_strongroom_transit(fresh_server, short_dir: Path) -> None:
    admin = hvac.Client(url=fresh_server.addr, token="root")
    admin.sys.enable_secrets_engine("transit")
    admin.secrets.transit.create_key("k8s-kms")
    admin.sys.create_or_update_policy("kms-plugin", POLICY.read_text())
    token = admin.auth.token.create(policies=["kms-plugin"], ttl="1h")["auth"]["client_token"]
    backend = TransitBackend(fresh_server.addr, "k8s-kms", token=token)
    ct, version = backend.wrap(b"s" * 32)
    assert ct.startswith(b"vault:v1:") and version == 1
    server = _serve(backend, short_dir)
    try:
        _lifecycle(server.path, lambda: admin.secrets.transit.rotate_key("k8s-kms"))
    finally:
        server.stop(1)
