"""Providers for ExternalSecrets. Each module registers itself in `base.REGISTRY` under its `spec.provider` key;
adding a provider is adding one module here (and importing it below)."""

from strongroom.operator.externalsecret.providers import aws, fake, kubernetes, vault
from strongroom.operator.externalsecret.providers.base import (
    REGISTRY,
    NoSecretError,
    ProviderClient,
    ProviderError,
    Ref,
    StoreConfigError,
    StoreContext,
    register,
)

__all__ = ["REGISTRY", "NoSecretError", "ProviderClient", "ProviderError", "Ref", "StoreConfigError",
           "StoreContext", "aws", "fake", "kubernetes", "register", "vault"]
