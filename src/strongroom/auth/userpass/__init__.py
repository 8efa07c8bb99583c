"""The userpass auth method: users with an argon2id password hash and token settings, and a login endpoint.

API-compatible with Vault's userpass (users/:username, users/:username/password, users/:username/policies,
LIST users, login/:username). Differences: passwords are hashed with argon2id (OWASP profile) rather than bcrypt,
a minimum password length can be set (config endpoint or the `password_min_length` mount option), and token
renewal re-checks that the user still exists and its policies did not change.
"""

from __future__ import annotations

from strongroom.auth.userpass.paths import build
from strongroom.sdk.framework import Backend, BackendConfig


def factory(config: BackendConfig) -> Backend:
    return build(config)


__all__ = ["factory"]
