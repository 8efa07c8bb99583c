"""A small Vault-compatible HTTP client (sync and async, httpx) used by the CLI, operator, KMS plugin and agent.

Works against Strongroom and any Vault/OpenBao. Errors are typed; messages carry the server's error strings,
never a token or a secret value.
"""

from strongroom.client._client import (
    AsyncClient,
    Client,
    ClientConfig,
    ClientError,
    Forbidden,
    NotFoundError,
    ServerUnavailable,
)

__all__ = ["AsyncClient", "Client", "ClientConfig", "ClientError", "Forbidden", "NotFoundError",
           "ServerUnavailable"]
