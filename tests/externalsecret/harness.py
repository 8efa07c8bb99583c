"""Run the real runtime + ExternalSecret controller against the fake Kubernetes API server."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

from strongroom.operator.externalsecret import ExternalSecretApp, ExternalSecretConfig, install
from strongroom.operator.kube import Kube
from strongroom.operator.runtime import Runtime
from tests.fakekube import FakeKube
from tests.operator.harness import eventually

ESO = "external-secrets.io"
__all__ = ["ESO", "Operator", "b64", "es_obj", "eventually", "ready", "start", "store_obj", "unb64"]


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def unb64(s: str) -> str:
    return base64.b64decode(s).decode()


@dataclass
class Operator:
    kube: Kube
    runtime: Runtime
    app: ExternalSecretApp
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.runtime.request_stop()
        await asyncio.wait_for(self.task, 10)
        await self.app.aclose()
        await self.kube.close()


async def start(fake: FakeKube, **config: Any) -> Operator:
    if ("external-secrets.io", "v1", "clusterexternalsecrets") not in fake.resources:
        fake.register(ESO, "v1", "ClusterExternalSecret", "clusterexternalsecrets", namespaced=False)
    if ("external-secrets.io", "v1alpha1", "pushsecrets") not in fake.resources:
        fake.register(ESO, "v1alpha1", "PushSecret", "pushsecrets")
    kube = Kube(fake.config("kube-system"))
    runtime = Runtime(kube, namespace="kube-system", leader_election=False, health_addr=("127.0.0.1", 0))
    app = install(runtime, ExternalSecretConfig(**config))
    task = asyncio.ensure_future(runtime.run())
    await eventually(lambda: runtime.started.is_set() or task.done(), what="runtime start")
    if task.done():
        task.result()
    return Operator(kube, runtime, app, task)


def ready(fake: FakeKube, name: str, ns: str = "app") -> dict[str, Any] | None:
    es = fake.get("externalsecrets", name, ns, group=ESO)
    conds = (es or {}).get("status", {}).get("conditions") or []
    return next((c for c in conds if c.get("type") == "Ready"), None)


def store_obj(name: str = "store", ns: str = "app", provider: dict[str, Any] | None = None,
              kind: str = "SecretStore", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if kind == "SecretStore":
        meta["namespace"] = ns
    return {"apiVersion": f"{ESO}/v1", "kind": kind, "metadata": meta,
            "spec": {"provider": provider or {"fake": {"data": []}}, **spec}}


def es_obj(name: str = "es", ns: str = "app", store: str = "store", kind: str = "SecretStore",
           **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{ESO}/v1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"refreshInterval": "1h", "secretStoreRef": {"name": store, "kind": kind}, **spec}}
