"""`Kube`: the one door to the Kubernetes API (lightkube's async client underneath), speaking plain dicts.

Works in-cluster (service-account token + CA), with a kubeconfig (`KUBECONFIG`, `~/.kube/config`, or a path),
and against tests' fake API server. Every lightkube/httpx error is mapped to `strongroom.operator.kube.errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError
from lightkube.types import PatchType

from strongroom.operator.kube import errors
from strongroom.operator.kube.kinds import ResourceKind

Obj = dict[str, Any]
FIELD_MANAGER = "strongroom-operator"


def load_config(kubeconfig: str | Path | None = None, context: str | None = None) -> KubeConfig | SingleConfig:
    """In-cluster config when running in a pod, else the kubeconfig (explicit path, `KUBECONFIG`,
    ~/.kube/config), optionally one named context of it."""
    try:
        cfg = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        if context:
            single = cfg.get(context)
            if single is None:
                raise ConfigError(f"context {context!r} not found")
            return single
    except ConfigError as exc:
        raise errors.KubeError(f"no usable Kubernetes configuration: {exc}") from None
    except OSError as exc:
        raise errors.KubeError(f"no usable Kubernetes configuration: cannot read {exc.filename}") from None
    return cfg


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except ApiError as exc:
        st = exc.status
        raise errors.from_status(int(st.code or 0), st.reason or "", st.message or "") from None
    except httpx2.HTTPStatusError as exc:  # a non-Status error body (e.g. a proxy in between)
        raise errors.from_status(exc.response.status_code, "", f"HTTP {exc.response.status_code}") from None
    except httpx2.HTTPError as exc:
        raise errors.Unavailable(f"Kubernetes API unreachable: {type(exc).__name__}") from None


def _plain(obj: Any) -> Obj:
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


class Kube:
    """Async, dict-in dict-out Kubernetes client. Namespaced calls need `namespace`; `None` on list/watch means
    all namespaces."""

    def __init__(self, config: KubeConfig | SingleConfig | None = None, *, field_manager: str = FIELD_MANAGER,
                 timeout: float = 30.0) -> None:
        self.field_manager = field_manager
        try:
            self._client = AsyncClient(config=config, field_manager=field_manager,
                                       timeout=httpx2.Timeout(timeout))
        except ConfigError as exc:
            raise errors.KubeError(f"no usable Kubernetes configuration: {exc}") from exc

    @property
    def namespace(self) -> str:
        """The configured default namespace (in-cluster: the pod's own)."""
        return str(self._client.namespace)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> Kube:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @staticmethod
    def _ns(kind: ResourceKind, namespace: str | None) -> dict[str, Any]:
        return {"namespace": namespace} if kind.namespaced else {}

    async def get(self, kind: ResourceKind, name: str, namespace: str | None = None) -> Obj:
        with _mapped():
            return _plain(await self._client.get(kind.resource, name, **self._ns(kind, namespace)))

    async def list(self, kind: ResourceKind, namespace: str | None = None,
                   labels: dict[str, Any] | None = None) -> tuple[list[Obj], str]:
        """All matching objects and the list's resourceVersion (to start a watch from)."""
        ns = self._ns(kind, namespace or "*")
        with _mapped():
            it = self._client.list(kind.resource, labels=labels, chunk_size=500, **ns)
            items = [_plain(o) async for o in it]
            try:
                rv = it.resourceVersion
            except Exception:  # empty list: lightkube only knows the rv once iteration started
                rv = ""
        return items, rv

    async def watch(self, kind: ResourceKind, namespace: str | None = None, *, resource_version: str | None,
                    labels: dict[str, Any] | None = None, timeout_seconds: int = 300,
                    ) -> AsyncIterator[tuple[str, Obj]]:
        """Watch events after `resource_version`; raises `Gone` (re-list) or `Unavailable` (re-watch)."""
        ns = self._ns(kind, namespace or "*")
        with _mapped():
            async for typ, obj in self._client.watch(kind.resource, labels=labels, server_timeout=timeout_seconds,
                                                     resource_version=resource_version, **ns):
                yield typ, _plain(obj)

    async def create(self, kind: ResourceKind, obj: Obj) -> Obj:
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        with _mapped():
            return _plain(await self._client.create(kind.resource(body), **self._ns(kind, _meta_ns(obj))))

    async def replace(self, kind: ResourceKind, obj: Obj) -> Obj:
        """PUT the whole object; with metadata.resourceVersion set this is optimistic (Conflict when stale)."""
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        with _mapped():
            return _plain(await self._client.replace(kind.resource(body), **self._ns(kind, _meta_ns(obj))))

    async def merge_patch(self, kind: ResourceKind, name: str, patch: Obj, namespace: str | None = None) -> Obj:
        with _mapped():
            return _plain(await self._client.patch(kind.resource, name, patch, patch_type=PatchType.MERGE,
                                                   **self._ns(kind, namespace)))

    async def apply(self, kind: ResourceKind, obj: Obj, *, force: bool = True,
                    field_manager: str | None = None) -> Obj:
        """Server-side apply of `obj` (our field manager owns exactly the fields in it)."""
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
        with _mapped():
            return _plain(await self._client.apply(kind.resource(body), field_manager=field_manager
                                                   or self.field_manager, force=force,
                                                   **self._ns(kind, _meta_ns(obj))))

    async def patch_status(self, kind: ResourceKind, name: str, status: Obj, namespace: str | None = None) -> Obj:
        """Merge-patch the status subresource only."""
        with _mapped():
            return _plain(await self._client.patch(kind.status, name, {"status": status},
                                                   patch_type=PatchType.MERGE, **self._ns(kind, namespace)))

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        with _mapped():
            await self._client.delete(kind.resource, name, **self._ns(kind, namespace))


def _meta_ns(obj: Obj) -> str | None:
    ns = obj.get("metadata", {}).get("namespace")
    return str(ns) if ns else None
