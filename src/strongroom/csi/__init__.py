"""Secrets Store CSI Driver provider: serves the driver's `v1alpha1.CSIDriverProvider` gRPC API on a unix socket
so a SecretProviderClass with `provider: strongroom` mounts secrets from Strongroom."""
