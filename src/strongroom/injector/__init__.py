"""Mutating admission webhook that adds the Strongroom agent (init container + sidecar + in-memory volume) to
pods that ask for it with `strongroom.io/*` annotations, as Vault's agent injector does with `vault.hashicorp.com/*`.
"""
