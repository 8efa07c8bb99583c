"""The ExternalSecret controller (external-secrets.io/v1, ESO-compatible) on the Strongroom runtime.

    app = install(runtime, ExternalSecretConfig())
    await runtime.run()

`install` wires the ExternalSecret, Secret, SecretStore and ClusterSecretStore informers, the store manager
(provider clients cached per store generation), the ExternalSecret controller and the store-status controllers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from strongroom.operator.externalsecret import cluster, pushsecret
from strongroom.operator.externalsecret.controller import ExternalSecretReconciler, build_controller
from strongroom.operator.externalsecret.stores import StoreManager, StoreReconciler
from strongroom.operator.kube import kinds
from strongroom.operator.runtime import Controller, Runtime


@dataclass
class ExternalSecretConfig:
    watch_namespace: str | None = None  # None: all namespaces
    workers: int = 4
    cluster_external_secrets: bool = True  # needs cluster-wide watch (ignored with watch_namespace)
    push_secrets: bool = True
    # a provider read is reused this long (change events invalidate it at once): refreshes of many
    # ExternalSecrets sharing a key, which happen on the same interval tick, cost one read
    read_cache_seconds: float = 10.0


@dataclass
class ExternalSecretApp:
    reconciler: ExternalSecretReconciler
    controller: Controller
    stores: StoreManager

    async def aclose(self) -> None:
        """Revoke provider tokens we created and close sessions; call after `Runtime.run()` returns."""
        await self.stores.close()


def install(runtime: Runtime, config: ExternalSecretConfig | None = None) -> ExternalSecretApp:
    config = config or ExternalSecretConfig()
    ns = config.watch_namespace
    es = runtime.informer(kinds.EXTERNAL_SECRET, ns)
    secrets = runtime.informer(kinds.SECRET, ns)
    stores = StoreManager(runtime.kube, runtime.informer(kinds.SECRET_STORE, ns),
                          runtime.informer(kinds.CLUSTER_SECRET_STORE), read_cache_seconds=config.read_cache_seconds)
    reconciler = ExternalSecretReconciler(runtime.kube, es, secrets, stores)
    stores.on_change = reconciler.on_provider_change
    controller = runtime.add_controller(build_controller(reconciler, workers=config.workers))
    if config.cluster_external_secrets and ns is None:
        runtime.add_controller(cluster.build(runtime.kube, runtime.informer(cluster.CLUSTER_EXTERNAL_SECRET),
                                             runtime.informer(kinds.NAMESPACE), es))
    if config.push_secrets:
        runtime.add_controller(pushsecret.build(runtime.kube, runtime.informer(pushsecret.PUSH_SECRET, ns),
                                                secrets, stores))
    for kind, informer in (("SecretStore", stores.stores), ("ClusterSecretStore", stores.cluster_stores)):
        runtime.add_controller(Controller(kind.lower(), StoreReconciler(stores, kind), informer, workers=1))

    async def close_clients() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            # losing leadership: revoke the provider tokens we created (shielded: the runtime cancels twice)
            await asyncio.shield(stores.close())

    runtime.add_leader_task(close_clients)
    return ExternalSecretApp(reconciler, controller, stores)


__all__ = ["ExternalSecretApp", "ExternalSecretConfig", "ExternalSecretReconciler", "StoreManager", "install"]
