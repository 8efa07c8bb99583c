"""PushSecret (external-secrets.io/v1alpha1): write keys of a Kubernetes Secret to vault stores.

Supported: `secretStoreRefs[{name, kind}]`, `selector.secret.name`, `data[{match {secretKey, remoteRef
{remoteKey, property}}}]` (empty `secretKey`: the whole Secret as a JSON object), `updatePolicy`
Replace|IfNotExists, `deletionPolicy` Delete (entries removed from the spec are deleted at the provider) | None,
`refreshInterval`. Status: `Ready` reason Synced|Errored, `syncedPushSecrets`, `refreshTime`,
`syncedResourceVersion`. Only the vault provider can be pushed to; remote secrets not created by a PushSecret
are never overwritten. Not yet: label-selected stores, generators, templates, a finalizer for Delete on removal.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from strongroom.operator.externalsecret import desired as d
from strongroom.operator.externalsecret.controller import parse_go_duration
from strongroom.operator.externalsecret.providers import ProviderError, StoreConfigError
from strongroom.operator.externalsecret.providers.vault import VaultProvider, delete_pushed, push_secret
from strongroom.operator.externalsecret.stores import StoreManager
from strongroom.operator.kube import Kube, Obj, ResourceKind
from strongroom.operator.runtime import (
    NORMAL,
    WARNING,
    Controller,
    EventRecorder,
    Informer,
    Result,
    StatusWriter,
    Watch,
    object_key,
)
from strongroom.operator.runtime.events import now_rfc3339

PUSH_SECRET = ResourceKind("external-secrets.io", "v1alpha1", "PushSecret", "pushsecrets")


class PushSecretReconciler:
    def __init__(self, kube: Kube, pushsecrets: Informer, secrets: Informer, stores: StoreManager) -> None:
        self.kube, self.ps, self.secrets, self.stores = kube, pushsecrets, secrets, stores
        self.status = StatusWriter(kube, PUSH_SECRET)
        self.events = EventRecorder(kube, "external-secrets")
        self._done: dict[str, tuple[str, str]] = {}  # key -> (spec+source hash, srv) of the last success

    async def reconcile(self, key: str) -> Result | None:
        ps = self.ps.get(key)
        if ps is None or ps["metadata"].get("deletionTimestamp"):
            self._done.pop(key, None)
            return None
        spec, ns = ps.get("spec") or {}, ps["metadata"].get("namespace", "")
        interval = parse_go_duration(spec.get("refreshInterval", "1h"))
        source_name = ((spec.get("selector") or {}).get("secret") or {}).get("name", "")
        source = self.secrets.get(f"{ns}/{source_name}")
        if source is None:
            await self._finish(ps, False, "Errored", f'source Secret "{source_name}" not found', {})
            return Result(interval) if interval else None
        values = {k: base64.b64decode(v) for k, v in (source.get("data") or {}).items()}
        fingerprint = d.data_hash(values) + json.dumps(spec, sort_keys=True)
        srv = d.synced_resource_version(ps)
        if self._done.get(key) == (fingerprint, srv):
            return Result(interval) if interval else None
        try:
            synced = await self._push(ps, spec, ns, values)
        except (ProviderError, StoreConfigError) as exc:
            await self._finish(ps, False, "Errored", f"set secret failed: {exc}", {})
            return Result(min(interval or 60.0, 30.0))
        self._done[key] = (fingerprint, srv)
        await self._finish(ps, True, "Synced", "PushSecret synced successfully", synced)
        return Result(interval) if interval else None

    async def _push(self, ps: Obj, spec: dict[str, Any], ns: str, values: dict[str, bytes]
                    ) -> dict[str, dict[str, Any]]:
        if_not_exists = str(spec.get("updatePolicy") or "Replace") == "IfNotExists"
        previous = (ps.get("status") or {}).get("syncedPushSecrets") or {}
        synced: dict[str, dict[str, Any]] = {}
        for ref in spec.get("secretStoreRefs") or []:
            if not ref.get("name"):
                raise StoreConfigError("secretStoreRefs with labelSelector are not supported yet")
            kind = str(ref.get("kind") or "SecretStore")
            client, _ = await self.stores.client(kind, str(ref["name"]), ns)
            if not isinstance(client, VaultProvider):
                raise StoreConfigError(f"pushing to the {client.name} provider is not supported")
            store_key = f"{kind}/{ref['name']}"
            entries: dict[str, Any] = {}
            for i, item in enumerate(spec.get("data") or []):
                match = item.get("match") or {}
                remote = match.get("remoteRef") or {}
                rkey, prop, skey = str(remote.get("remoteKey") or ""), str(remote.get("property") or ""), \
                    str(match.get("secretKey") or "")
                if not rkey:
                    raise StoreConfigError(f"spec.data[{i}].match.remoteRef.remoteKey is required")
                if skey and skey not in values:
                    raise StoreConfigError(f'spec.data[{i}]: source Secret has no key "{skey}"')
                value = values[skey] if skey else json.dumps(
                    {k: v.decode("utf-8", "surrogateescape") for k, v in values.items()}).encode()
                await push_secret(client, rkey, prop, value, if_not_exists=if_not_exists)
                entries[f"{rkey}/{prop}" if prop else rkey] = {"match": match}
            if str(spec.get("deletionPolicy") or "None") == "Delete":
                for gone in set(previous.get(store_key) or {}) - set(entries):
                    rkey, _, prop = gone.partition("/") if "/" in gone else (gone, "", "")
                    old = (previous[store_key][gone].get("match") or {}).get("remoteRef") or {}
                    await delete_pushed(client, str(old.get("remoteKey") or rkey), str(old.get("property") or ""))
            synced[store_key] = entries
        return synced

    async def _finish(self, ps: Obj, ok: bool, reason: str, message: str, synced: dict[str, Any]) -> None:
        status = ps.get("status") or {}
        extra: dict[str, Any] = {}
        if ok:
            extra = {"syncedPushSecrets": synced, "syncedResourceVersion": d.synced_resource_version(ps)}
            if status.get("syncedPushSecrets") != synced or not status.get("refreshTime"):
                extra["refreshTime"] = now_rfc3339()
        old: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
        if old.get("reason") != reason or old.get("message") != message:
            self.events.emit(ps, NORMAL if ok else WARNING, reason, message)
        updated = await self.status.write(ps, "Ready", ok, reason=reason, message=message, extra=extra)
        if updated is not None:
            self.ps.remember(updated, based_on=ps["metadata"].get("resourceVersion"))


def build(kube: Kube, pushsecrets: Informer, secrets: Informer, stores: StoreManager) -> Controller:
    rec = PushSecretReconciler(kube, pushsecrets, secrets, stores)

    def source_to_ps(secret: Obj) -> list[str]:
        ns, name = secret["metadata"].get("namespace"), secret["metadata"]["name"]
        return [object_key(p) for p in pushsecrets.items() if p["metadata"].get("namespace") == ns and
                ((p.get("spec") or {}).get("selector") or {}).get("secret", {}).get("name") == name]

    return Controller("pushsecret", rec, pushsecrets, [Watch(secrets, source_to_ps)], workers=2)
