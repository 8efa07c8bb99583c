"""The built-in policies: `default` (attached to every non-root token unless opted out), `root`, and
`response-wrapping`. The grants match OpenBao's built-ins rule for rule; the text is ours.
"""

from __future__ import annotations

import functools

from strongroom.core.policy.model import Policy
from strongroom.core.policy.names import DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY, ROOT_POLICY
from strongroom.core.policy.parser import parse_policy

DEFAULT_POLICY_HCL = """\
# Built-in "default" policy. Operators may edit it but not delete it.

# A token may inspect, renew and revoke itself.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}
path "auth/token/renew-self" {
    capabilities = ["update"]
}
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# ... and ask what it may do on a path.
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Read its own identity entity (templated: active once an identity store exists).
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}

# The UI asks for the token's combined ACL here (internal format, may change).
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Renew a lease by lease_id (old and new path) and look a lease up.
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Every token owns a private cubbyhole.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping: wrap a value, look up and unwrap a wrapping token.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# General purpose tools.
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# The authorization endpoint of OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"""

RESPONSE_WRAPPING_POLICY_HCL = """\
# Built-in, immutable: lets a response-wrapping token store and unwrap its payload.
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"""


@functools.cache
def default_policy() -> Policy:
    """The built-in default policy, parsed once (Policy objects are immutable, so sharing is safe)."""
    return parse_policy(DEFAULT_POLICY, DEFAULT_POLICY_HCL)


@functools.cache
def response_wrapping_policy() -> Policy:
    return parse_policy(RESPONSE_WRAPPING_POLICY, RESPONSE_WRAPPING_POLICY_HCL)


def root_policy() -> Policy:
    """Everything, with sudo. Has no text and no rules: the ACL short-circuits on it."""
    return Policy(name=ROOT_POLICY, is_root=True)


def builtin_policies() -> dict[str, Policy]:
    """The policies a fresh store starts with, by name (a new dict each call; the values are shared)."""
    return {
        DEFAULT_POLICY: default_policy(),
        RESPONSE_WRAPPING_POLICY: response_wrapping_policy(),
        ROOT_POLICY: root_policy(),
    }
