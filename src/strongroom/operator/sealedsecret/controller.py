"""SealedSecret -> Secret reconciler.

Flow per key: read the SealedSecret from the cache -> skip if nothing relevant changed since our last success
(memo of uid/generation/annotations/Secret resourceVersion/key set: no RSA work on echoes and resyncs) ->
unseal (every key, newest first) -> `desired.plan` -> one write -> status + Event + metrics in `_finish`.
Unsealing errors and refusals are permanent (not retried until the SealedSecret or the Secret changes);
API errors (409, 5xx) are retried with capped backoff by the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from typing import Any

from strongroom.operator.kube import AlreadyExists, Kube, KubeError, Obj, kinds
from strongroom.operator.runtime import (
    NORMAL,
    WARNING,
    Controller,
    EventRecorder,
    Informer,
    PermanentError,
    StatusWriter,
    Watch,
    object_key,
)
from strongroom.operator.sealedsecret import desired as desired_mod
from strongroom.operator.sealedsecret import metrics as m
from strongroom.operator.sealedsecret.keys import KeyRegistry, SealingKey
from strongroom.sealing import SealingError, UnsealError, unseal_sealed_secret

log = logging.getLogger(__name__)
CONDITION = "Synced"


@dataclass(frozen=True)
class _Memo:
    uid: str
    generation: Any
    annotations: tuple[tuple[str, str], ...]
    secret_rv: str


def unseal_with_keys(sealed: Obj, keys: list[SealingKey]) -> tuple[Obj, SealingKey | None]:
    """Try each key alone, newest first (so we learn which key sealed it); then all together for objects whose
    items were sealed with different keys. Raises SealingError."""
    last: SealingError | None = None
    for key in keys:
        try:
            return unseal_sealed_secret(sealed, [key.private_key]), key
        except UnsealError as exc:
            last = exc
    if len(keys) > 1:
        return unseal_sealed_secret(sealed, [k.private_key for k in keys]), None
    raise last or UnsealError("no sealing key is available yet")


class SealedSecretReconciler:
    def __init__(self, kube: Kube, registry: KeyRegistry, sealed: Informer, secrets: Informer, *,
                 update_status: bool = True, normal_events: bool = True, instance: str | None = None) -> None:
        self.kube, self.registry, self.sealed, self.secrets = kube, registry, sealed, secrets
        self.update_status, self.normal_events = update_status, normal_events
        self.instance = instance or socket.gethostname()
        self.events = EventRecorder(kube, "sealed-secrets-controller", host=self.instance)
        self.status = StatusWriter(kube, kinds.SEALED_SECRET)
        self.usage = m.KeyUsage()
        self._memo: dict[str, _Memo] = {}

    def _memo_for(self, ss: Obj, secret: Obj | None) -> _Memo:
        meta = ss["metadata"]
        return _Memo(meta.get("uid", ""), meta.get("generation"),
                     tuple(sorted((meta.get("annotations") or {}).items())),
                     (secret or {}).get("metadata", {}).get("resourceVersion", ""))

    async def reconcile(self, key: str) -> None:
        ss = self.sealed.get(key)
        if ss is None or ss["metadata"].get("deletionTimestamp"):
            self._forget(key)
            return  # the Secret goes with it through garbage collection (ownerReference)
        await self.registry.loaded.wait()
        existing = self.secrets.get(key)
        if self._memo.get(key) == self._memo_for(ss, existing):
            return
        m.UNSEAL_REQUESTS.inc()
        try:
            # RSA releases the GIL: off the event loop, unseals of several workers use every core while
            # the loop keeps serving watches and API writes
            unsealed, opened_with = await asyncio.to_thread(unseal_with_keys, ss, list(self.registry.keys))
        except SealingError as exc:
            reason = "unseal" if isinstance(exc, UnsealError) else type(exc).__name__
            m.UNSEAL_ERRORS.labels(reason=reason, namespace=ss["metadata"].get("namespace", "")).inc()
            await self._finish(ss, False, "ErrUnsealFailed", f"Failed to unseal: {exc}")
            raise PermanentError(f"failed to unseal: {exc}") from None
        self.usage.set(key, opened_with.fingerprint if opened_with else "mixed",
                       opened_with.secret_name if opened_with else "")
        plan = desired_mod.plan(ss, unsealed, existing)
        written: Obj | None = existing
        if plan.action in ("refuse", "immutable"):
            await self._finish(ss, False, "ErrUpdateFailed", f"failed update: {plan.message}")
            raise PermanentError(plan.message)
        try:
            if plan.action == "create":
                assert plan.body is not None
                written = await self.kube.create(kinds.SECRET, plan.body)
            elif plan.action == "update":
                assert plan.body is not None
                written = await self.kube.replace(kinds.SECRET, plan.body)  # optimistic: 409 when stale
        except AlreadyExists:
            raise KubeError(f'Secret "{key}" appeared meanwhile; retrying') from None
        if written is not None and written is not existing:
            self.secrets.remember(written, based_on=(existing or {}).get("metadata", {}).get("resourceVersion"))
        await self._finish(ss, True, "Unsealed", "SealedSecret unsealed successfully",
                           announce=plan.action != "none")
        self._memo[key] = self._memo_for(ss, written)

    async def _finish(self, ss: Obj, ok: bool, reason: str, message: str, *, announce: bool = True) -> None:
        """The one place that writes status, Events and the condition metric."""
        meta = ss["metadata"]
        key = object_key(ss)
        if not ok:
            self._memo.pop(key, None)
        m.CONDITION_INFO.labels(meta.get("namespace", ""), meta["name"], CONDITION, self.instance).set(
            1 if ok else 0)
        changed = False
        if self.update_status:  # a failed status write fails the reconcile: it is retried with backoff
            updated = await self.status.write(ss, CONDITION, ok, message="" if ok else message)
            if updated is not None:
                changed = True
                self.sealed.remember(updated, based_on=meta.get("resourceVersion"))
        if (announce or changed) and (not ok or self.normal_events):
            self.events.emit(ss, NORMAL if ok else WARNING, reason, message)

    def _forget(self, key: str) -> None:
        self._memo.pop(key, None)
        self.usage.set(key, None)
        ns, _, name = key.rpartition("/")
        with contextlib.suppress(KeyError):
            m.CONDITION_INFO.remove(ns, name, CONDITION, self.instance)

    def requeue_all(self, controller: Controller) -> None:
        """After the key set changes, objects that failed to unseal get another chance."""
        for key in list(self.sealed.cache):
            if key not in self._memo:
                controller.enqueue(key)


def build_controller(reconciler: SealedSecretReconciler, *, workers: int = 2) -> Controller:
    sealed = reconciler.sealed

    def secret_to_sealed(secret: Obj) -> list[str]:
        key = object_key(secret)
        return [key] if key in sealed.cache else []

    return Controller("sealedsecret", reconciler, sealed, [Watch(reconciler.secrets, secret_to_sealed)],
                      workers=workers)
