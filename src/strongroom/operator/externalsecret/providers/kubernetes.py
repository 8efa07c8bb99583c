"""`spec.provider.kubernetes`: Secrets from another namespace (`remoteNamespace`, default "default").

Reads go through the operator's own Kubernetes client; `server`/`auth` for a different cluster are not
supported yet (InvalidProviderConfig says so rather than silently reading the local cluster).
"""

from __future__ import annotations

import base64
import re

from strongroom.operator.externalsecret.providers import base
from strongroom.operator.externalsecret.providers.base import (
    NoSecretError,
    ProviderError,
    Ref,
    StoreConfigError,
    StoreContext,
)
from strongroom.operator.kube import KubeError, NotFound, kinds


class KubernetesProvider:
    name = "kubernetes"

    def __init__(self, ctx: StoreContext) -> None:
        spec = ctx.provider_spec("kubernetes")
        url = str((spec.get("server") or {}).get("url") or "")
        if url and url not in ("kubernetes.default", "https://kubernetes.default", "https://kubernetes.default.svc"):
            raise StoreConfigError("kubernetes provider: only the local cluster is supported (server.url unset)")
        self.kube, self.namespace = ctx.kube, str(spec.get("remoteNamespace") or "default")
        self.reads = 0

    async def _data(self, name: str) -> dict[str, bytes]:
        self.reads += 1
        try:
            secret = await self.kube.get(kinds.SECRET, name, self.namespace)
        except NotFound:
            raise NoSecretError(f"secret {name!r} not found") from None
        except KubeError as exc:
            raise ProviderError(f"kubernetes provider: {type(exc).__name__}") from None
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    async def validate(self) -> None:
        try:
            await self.kube.list(kinds.SECRET, self.namespace)
        except KubeError as exc:
            raise ProviderError(f"kubernetes provider cannot list Secrets: {type(exc).__name__}") from None

    async def get_secret(self, ref: Ref) -> bytes:
        data = await self._data(ref.key)
        if not ref.property:
            return base.encode_value({k: v.decode("utf-8", "replace") for k, v in data.items()})
        if ref.property not in data:
            raise NoSecretError(f"property {ref.property!r} not found in secret {ref.key!r}")
        return data[ref.property]

    async def get_secret_map(self, ref: Ref) -> dict[str, bytes]:
        return await self._data(ref.key)

    async def find(self, path: str, name_regexp: str, tags: dict[str, str]) -> dict[str, bytes]:
        items, _ = await self.kube.list(kinds.SECRET, self.namespace, labels=tags or None)
        rx = re.compile(name_regexp) if name_regexp else None
        out: dict[str, bytes] = {}
        for s in items:
            name = s["metadata"]["name"]
            if rx is None or rx.search(name):
                data = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (s.get("data") or {}).items()}
                out[name] = base.encode_value(data)
        return out

    async def close(self) -> None:
        return None


async def factory(ctx: StoreContext) -> KubernetesProvider:
    return KubernetesProvider(ctx)


base.register("kubernetes", factory)
