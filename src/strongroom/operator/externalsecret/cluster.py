"""ClusterExternalSecret: stamp one ExternalSecret into every namespace a selector matches (ESO v1 semantics).

Namespaces are chosen by `namespaceSelectors` (ORed LabelSelectors) plus the deprecated `namespaceSelector` and
`namespaces`. Each ExternalSecret is owned by the ClusterExternalSecret (garbage-collected with it) and removed
from namespaces that stop matching. An ExternalSecret of the same name that we do not own is never touched: the
namespace is reported in `status.failedNamespaces`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from strongroom.operator.externalsecret.controller import parse_go_duration
from strongroom.operator.externalsecret.stores import _label_selector_matches
from strongroom.operator.kube import Kube, KubeError, NotFound, Obj, ResourceKind, kinds
from strongroom.operator.runtime import Controller, Informer, Result, StatusWriter, Watch

CLUSTER_EXTERNAL_SECRET = ResourceKind("external-secrets.io", "v1", "ClusterExternalSecret",
                                       "clusterexternalsecrets", namespaced=False)
FIELD_MANAGER = "external-secrets-clusterexternalsecret"


def selected_namespaces(spec: dict[str, Any], namespaces: list[Obj]) -> list[str]:
    selectors = list(spec.get("namespaceSelectors") or [])
    if spec.get("namespaceSelector"):
        selectors.append(spec["namespaceSelector"])
    listed = set(spec.get("namespaces") or [])
    out = []
    for ns in namespaces:
        name = ns["metadata"]["name"]
        labels = {**(ns["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}
        if ns["metadata"].get("deletionTimestamp"):
            continue
        if name in listed or any(_label_selector_matches(sel, labels) for sel in selectors):
            out.append(name)
    return sorted(out)


class ClusterExternalSecretReconciler:
    def __init__(self, kube: Kube, ces: Informer, namespaces: Informer, externalsecrets: Informer) -> None:
        self.kube, self.ces, self.namespaces, self.es = kube, ces, namespaces, externalsecrets
        self.status = StatusWriter(kube, CLUSTER_EXTERNAL_SECRET)

    def _owned(self, es: Obj | None, uid: str) -> bool:
        return es is not None and any(r.get("uid") == uid for r in es["metadata"].get("ownerReferences") or [])

    async def reconcile(self, key: str) -> Result | None:
        ces = self.ces.get(key)
        if ces is None or ces["metadata"].get("deletionTimestamp"):
            return None  # owned ExternalSecrets go with it through garbage collection
        spec, meta = ces.get("spec") or {}, ces["metadata"]
        uid, name = meta.get("uid", ""), str(spec.get("externalSecretName") or meta["name"])
        wanted = selected_namespaces(spec, self.namespaces.items())
        provisioned, failed = [], []
        es_meta = spec.get("externalSecretMetadata") or {}
        for ns in wanted:
            existing = self.es.get(f"{ns}/{name}")
            if existing is not None and not self._owned(existing, uid):
                failed.append({"namespace": ns, "reason": "external secret already exists in namespace"})
                continue
            owner = {"apiVersion": CLUSTER_EXTERNAL_SECRET.api_version, "kind": "ClusterExternalSecret",
                     "name": meta["name"], "uid": uid, "controller": True, "blockOwnerDeletion": True}
            body: dict[str, Any] = {
                "metadata": {"name": name, "namespace": ns, "labels": dict(es_meta.get("labels") or {}),
                             "annotations": dict(es_meta.get("annotations") or {}), "ownerReferences": [owner]},
                "spec": spec.get("externalSecretSpec") or {}}
            if existing is None or existing.get("spec") != body["spec"] or any(
                    (existing["metadata"].get(f) or {}).get(k) != v
                    for f in ("labels", "annotations") for k, v in body["metadata"][f].items()):
                try:
                    await self.kube.apply(kinds.EXTERNAL_SECRET, body, field_manager=FIELD_MANAGER)
                except KubeError as exc:
                    failed.append({"namespace": ns, "reason": f"could not apply ExternalSecret: {exc}"})
                    continue
            provisioned.append(ns)
        for es in self.es.items():  # namespaces that stopped matching (or a renamed ExternalSecret)
            ens = es["metadata"].get("namespace", "")
            if self._owned(es, uid) and (ens not in provisioned or es["metadata"]["name"] != name):
                with contextlib.suppress(NotFound):
                    await self.kube.delete(kinds.EXTERNAL_SECRET, es["metadata"]["name"], ens)
        ok = not failed
        updated = await self.status.write(
            ces, "Ready", ok, message="" if ok else "one or more namespaces failed",
            extra={"externalSecretName": name, "provisionedNamespaces": provisioned, "failedNamespaces": failed})
        if updated is not None:
            self.ces.remember(updated, based_on=meta.get("resourceVersion"))
        interval = parse_go_duration(spec.get("refreshTime") or "1m")
        return Result(interval) if interval else None


def build(kube: Kube, ces: Informer, namespaces: Informer, externalsecrets: Informer) -> Controller:
    rec = ClusterExternalSecretReconciler(kube, ces, namespaces, externalsecrets)

    def all_ces(_obj: Obj) -> list[str]:
        return list(ces.cache)

    def owner(es: Obj) -> list[str]:
        return [r["name"] for r in es["metadata"].get("ownerReferences") or []
                if r.get("kind") == "ClusterExternalSecret" and r.get("name") in ces.cache]

    return Controller("clusterexternalsecret", rec, ces, [Watch(namespaces, all_ces), Watch(externalsecrets, owner)],
                      workers=1)
