"""The Kubernetes auth method: pods log in with their service-account JWT (contracts.md C(iv)).

Login checks the role's bound names/namespaces (globs, or a namespace label selector), optionally the JWT
signature (pem_keys), then asks the API server's TokenReview. Unlike Vault, renewing a token re-checks that the
service account and pod behind it still exist (user-pain-points.md item 12).
"""

from __future__ import annotations

from strongroom.auth.kubernetes.path_config import ConfigStore, config_paths
from strongroom.auth.kubernetes.path_login import login_paths, renewer
from strongroom.auth.kubernetes.path_role import RoleStore, role_paths
from strongroom.sdk.framework import Backend, BackendConfig

HELP = """The Kubernetes Auth Backend allows authentication for Kubernetes service accounts."""


def factory(config: BackendConfig) -> Backend:
    configs = ConfigStore(config.storage)
    roles = RoleStore(config.storage)
    return Backend(
        paths=[*login_paths(configs, roles), *config_paths(configs), *role_paths(roles)],
        help=HELP,
        unauthenticated_paths=("login", "login/*"),
        kind="credential",
        renew_login=renewer(configs, roles),
        clean=configs.reset,
    )


__all__ = ["factory"]
