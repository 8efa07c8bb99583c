"""The SealedSecret controller (bitnami.com/v1alpha1, kubeseal-compatible) on the Strongroom runtime.

    sealed = install(runtime, SealedSecretConfig(namespace="kube-system"))
    await runtime.run()

`install` wires: the key registry (loaded, first key created, renewal as a leader task), the SealedSecret and
Secret informers, the controller, and the kubeseal HTTP API (served on every replica).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from strongroom.operator.kube import kinds
from strongroom.operator.runtime import Controller, Runtime
from strongroom.operator.sealedsecret.api import SealingApi
from strongroom.operator.sealedsecret.controller import SealedSecretReconciler, build_controller, unseal_with_keys
from strongroom.operator.sealedsecret.desired import Plan, plan
from strongroom.operator.sealedsecret.keys import DEFAULT_RENEW_PERIOD, KeyRegistry, SealingKey, key_from_secret
from strongroom.operator.sealedsecret.keywrap import KeyWrapper, TransitKeyWrapper
from strongroom.sealing import DEFAULT_KEY_BITS, DEFAULT_KEY_PREFIX


@dataclass
class SealedSecretConfig:
    namespace: str  # where the key Secrets live (the controller's namespace)
    key_prefix: str = DEFAULT_KEY_PREFIX
    key_bits: int = DEFAULT_KEY_BITS  # tests may use 2048 for speed
    renew_period: dt.timedelta | None = DEFAULT_RENEW_PERIOD  # None or 0 disables renewal
    key_cutoff: dt.datetime | None = None
    key_order: str = "CertNotBefore"
    watch_namespace: str | None = None  # None: all namespaces
    update_status: bool = True
    normal_events: bool = True  # Normal "Unsealed" Events (Warnings are always emitted)
    workers: int = 8
    listen: tuple[str, int] | None = ("0.0.0.0", 8080)  # noqa: S104 - the pod's service port
    key_labels: dict[str, str] = field(default_factory=dict)
    key_annotations: dict[str, str] = field(default_factory=dict)
    key_wrapper: KeyWrapper | None = None  # e.g. TransitKeyWrapper: key Secrets hold only wrapped keys


@dataclass
class SealedSecretApp:
    registry: KeyRegistry
    reconciler: SealedSecretReconciler
    controller: Controller
    api: SealingApi

    async def rotate(self) -> SealingKey:
        """Renew on demand (SIGUSR1, `strongroom operator keys rotate`): new key, failed objects retried."""
        key = await self.registry.rotate()
        self.reconciler.requeue_all(self.controller)
        return key


def install(runtime: Runtime, config: SealedSecretConfig) -> SealedSecretApp:
    registry = KeyRegistry(runtime.kube, config.namespace, prefix=config.key_prefix, bits=config.key_bits,
                           renew_period=config.renew_period or None, cutoff=config.key_cutoff,
                           order_by=config.key_order, labels=config.key_labels,
                           annotations=config.key_annotations, key_wrapper=config.key_wrapper)
    sealed = runtime.informer(kinds.SEALED_SECRET, config.watch_namespace)
    secrets = runtime.informer(kinds.SECRET, config.watch_namespace)
    reconciler = SealedSecretReconciler(runtime.kube, registry, sealed, secrets,
                                        update_status=config.update_status,
                                        normal_events=config.normal_events)
    controller = runtime.add_controller(build_controller(reconciler, workers=config.workers))
    api = SealingApi(registry)
    app = SealedSecretApp(registry, reconciler, controller, api)

    async def keys_task() -> None:
        await registry.load()
        await registry.ensure_key()
        registry.loaded.set()
        await registry.renewal_loop(lambda: reconciler.requeue_all(controller))

    runtime.add_leader_task(keys_task)
    if config.listen is not None:
        runtime.add_http_app(api.app(), *config.listen)
    return app


__all__ = [
    "KeyRegistry",
    "KeyWrapper",
    "Plan",
    "SealedSecretApp",
    "SealedSecretConfig",
    "SealedSecretReconciler",
    "SealingApi",
    "SealingKey",
    "TransitKeyWrapper",
    "install",
    "key_from_secret",
    "plan",
    "unseal_with_keys",
]
