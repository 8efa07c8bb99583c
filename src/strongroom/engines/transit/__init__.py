"""The transit secrets engine: encryption as a service with Vault's API and `vault:vN:` wire formats."""

from __future__ import annotations

import time

from strongroom.engines.transit import paths_crypt, paths_keys, paths_sign
from strongroom.engines.transit.keystore import KeyStore
from strongroom.sdk.framework import Backend, BackendConfig


def factory(config: BackendConfig) -> Backend:
    store = KeyStore()

    async def periodic() -> None:
        """Auto-rotation: keys with auto_rotate_period are rotated once that period has passed."""
        now = time.time()
        for name in await store.names(config.storage):
            async with store.lock(name):
                key = await store.get(config.storage, name)
                if key is not None and key.auto_rotate_period and now - key.last_rotated >= key.auto_rotate_period:
                    key.rotate()
                    await store.put(config.storage, key)

    return Backend(paths=[*paths_keys.paths(store), *paths_crypt.paths(store), *paths_sign.paths(store)],
                   help="The transit engine encrypts, signs and HMACs data; keys never leave it unless exportable.",
                   periodic=periodic)


__all__ = ["factory"]
