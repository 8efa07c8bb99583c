"""The sys/ backend, built with sdk.framework like any engine, but with access to the Core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.core.system import (
    alerts_paths,
    audit_paths,
    events_paths,
    leases_paths,
    metrics_paths,
    misc_paths,
    mounts_paths,
    policy_paths,
    seal_paths,
    wrapping_paths,
)
from strongroom.sdk.framework import Backend, BackendConfig

if TYPE_CHECKING:
    from strongroom.core.core import Core

# as Vault's system backend: these need `sudo` on top of the capability. The share-based sys/rotate/root/* and
# sys/generate-root-token/* do not (as OpenBao: the quorum of key shares is the real guard).
ROOT_PATHS = ("rotate", "rotate/keyring", "rotate/keyring/config", "seal", "step-down", "auth/*",
              "leases/revoke-prefix/*", "leases/revoke-force/*", "leases/lookup/*", "revoke-prefix/*", "revoke-force/*",
              "audit", "audit/*", "raw", "raw/*", "config/*", "rekey/*", "generate-root/*")


def build(core: Core, config: BackendConfig) -> Backend:
    paths = [*seal_paths.paths(core), *mounts_paths.paths(core), *policy_paths.paths(core),
             *wrapping_paths.paths(core), *leases_paths.paths(core), *misc_paths.paths(core),
             *audit_paths.paths(core), *metrics_paths.paths(core), *alerts_paths.paths(core),
             *events_paths.paths(core)]
    extra = getattr(core, "extra_system_paths", [])
    return Backend(paths=[*paths, *extra], help="System endpoints used for control, policy and debugging.",
                   root_paths=ROOT_PATHS)
