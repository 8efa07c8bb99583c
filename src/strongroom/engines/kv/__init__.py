"""The KV secrets engine: version 1 (plain key/value) and version 2 (versioned), as Vault/OpenBao serve them.

Mount options: `version` "1" (default for `kv`) or "2" (default for `kv-v2`). `config.on_change(path)` is
awaited after every successful write, delete, destroy or metadata change with the secret's path relative to
the mount (for v2 the secret's own path, e.g. "app/db", not "data/app/db").
"""

from __future__ import annotations

from strongroom.engines.kv import v1, v2
from strongroom.sdk import InvalidRequest
from strongroom.sdk.framework import Backend, BackendConfig


def kv_version(config: BackendConfig) -> str:
    version = config.options.get("version") or ("2" if config.mount_type == "kv-v2" else "1")
    if version not in ("1", "2"):
        raise InvalidRequest(f"invalid kv version {version!r}: expected \"1\" or \"2\"")
    return version


def factory(config: BackendConfig) -> Backend:
    return v2.build(config) if kv_version(config) == "2" else v1.build(config)


__all__ = ["factory", "kv_version"]
