"""The AppRole auth method: machines log in with a role_id and a secret_id, as with Vault's AppRole.

Secret IDs and accessors are stored only as HMACs (per-mount salt), uses are counted under a lock, and expired
secret IDs are refused and removed (tidy/secret-id sweeps the rest). Response wrapping of secret IDs is the
core's X-Vault-Wrap-TTL, like every other response.
"""

from __future__ import annotations

from strongroom.auth.approle.path_login import login_paths, renewer
from strongroom.auth.approle.path_role import role_paths
from strongroom.auth.approle.path_secret_id import secret_id_paths
from strongroom.auth.approle.store import AppRoleStore
from strongroom.sdk.framework import Backend, BackendConfig

HELP = """Any registered role can authenticate itself with Strongroom. The credentials depend on the constraints
set on the role: 'role_id' is always required; 'secret_id' when 'bind_secret_id' is set (the default)."""


def factory(config: BackendConfig) -> Backend:
    store = AppRoleStore(config.storage)
    return Backend(
        paths=[*login_paths(store), *secret_id_paths(store), *role_paths(store)],
        help=HELP,
        unauthenticated_paths=("login", "login/*"),
        kind="credential",
        renew_login=renewer(store),
    )


__all__ = ["factory"]
