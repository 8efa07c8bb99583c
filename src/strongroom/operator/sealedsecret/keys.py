"""The sealing key registry: keys live in `kubernetes.io/tls` Secrets labelled
`sealedsecrets.bitnami.com/sealed-secrets-key=active` in the controller's namespace, as upstream stores them, so
an upstream controller and `kubeseal --recovery-unseal` can use our keys and we can use theirs.

Newest key (by certificate NotBefore, or Secret creationTimestamp) seals; every active key unseals. Renewal
appends a key every `renew_period` (30 days by default); keys are never deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strongroom.crypto.errors import CryptoError
from strongroom.crypto.hybrid import RSAPrivateKey, key_fingerprint, load_rsa_private_key
from strongroom.operator.kube import Kube, KubeError, NotFound, Obj, kinds
from strongroom.operator.sealedsecret.keywrap import KeyWrapper, is_wrapped, wrap_kind
from strongroom.sealing import (
    DEFAULT_KEY_BITS,
    DEFAULT_KEY_PREFIX,
    LABEL_SEALING_KEY,
    SealingError,
    certificate_not_before,
    generate_key_pair,
    key_pair_secret,
    private_key_pem,
)

log = logging.getLogger(__name__)
DEFAULT_RENEW_PERIOD = dt.timedelta(days=30)


@dataclass(frozen=True)
class SealingKey:
    """One key pair. `repr` never shows the private key."""

    secret_name: str
    private_key: RSAPrivateKey
    certificate_pem: bytes
    fingerprint: str
    not_before: dt.datetime
    created: str
    resource_version: int = 0

    def __repr__(self) -> str:
        return f"SealingKey({self.secret_name!r}, {self.fingerprint}, not_before={self.not_before.isoformat()})"


def key_from_secret(secret: Obj, pem: bytes | None = None) -> SealingKey:
    """Parse a key Secret (`pem`: the private key when it was unwrapped elsewhere); raises SealingError with a
    message naming the Secret, never its content."""
    name = secret.get("metadata", {}).get("name", "?")
    data = secret.get("data") or {}
    kind = wrapped_kind(secret)
    if pem is None and kind:
        raise SealingError(f"key Secret {name!r} holds a {kind}-wrapped key: run with --key-wrap {kind}")
    try:
        if pem is None:
            pem = base64.b64decode(data["tls.key"], validate=True)
        cert = base64.b64decode(data["tls.crt"], validate=True)
        key = load_rsa_private_key(pem)
        meta = secret.get("metadata", {})
        rv = str(meta.get("resourceVersion") or "0")
        return SealingKey(name, key, cert, key_fingerprint(key.public_key()), certificate_not_before(cert),
                          meta.get("creationTimestamp") or "", int(rv) if rv.isdigit() else 0)
    except (KeyError, binascii.Error, ValueError, CryptoError, SealingError) as exc:
        raise SealingError(f"key Secret {name!r} is not a usable RSA key pair ({type(exc).__name__})") from None


def wrapped_kind(secret: Obj) -> str | None:
    """How the Secret's private key is wrapped (keywrap.py): "transit", "pkcs11", or None for plain PEM."""
    try:
        return wrap_kind(base64.b64decode(str((secret.get("data") or {}).get("tls.key") or ""))[:16])
    except (binascii.Error, ValueError):
        return None


def is_wrapped_secret(secret: Obj) -> bool:
    return wrapped_kind(secret) is not None


async def load_key_secret(secret: Obj, wrapper: KeyWrapper | None) -> SealingKey:
    """`key_from_secret`, unwrapping a transit-wrapped `tls.key` with `wrapper` (plain keys load as they are)."""
    try:
        raw = base64.b64decode((secret.get("data") or {}).get("tls.key") or "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if wrapper is None or not is_wrapped(raw):
        return key_from_secret(secret)
    return key_from_secret(secret, await wrapper.unwrap(raw))


class KeyRegistry:
    def __init__(self, kube: Kube, namespace: str, *, prefix: str = DEFAULT_KEY_PREFIX,
                 bits: int = DEFAULT_KEY_BITS, renew_period: dt.timedelta | None = DEFAULT_RENEW_PERIOD,
                 cutoff: dt.datetime | None = None, order_by: str = "CertNotBefore",
                 labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
                 common_name: str = "", reload_interval: float = 30.0,
                 key_wrapper: KeyWrapper | None = None) -> None:
        if order_by not in ("CertNotBefore", "SecretCreationTimestamp"):
            raise ValueError("order_by must be CertNotBefore or SecretCreationTimestamp")
        self.kube, self.namespace, self.prefix, self.bits = kube, namespace, prefix, bits
        self.renew_period, self.cutoff, self.order_by = renew_period, cutoff, order_by
        self.labels, self.annotations, self.common_name = labels or {}, annotations or {}, common_name
        self.reload_interval = reload_interval
        self.key_wrapper = key_wrapper  # None: plain PEM in the Secret (upstream's way)
        self.keys: list[SealingKey] = []  # newest first
        self.version = 0  # bumps whenever the key set changes
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self.loaded = asyncio.Event()  # set by the leader once keys are loaded (and a first one made)

    # -- reading --------------------------------------------------------------------------------------
    @property
    def latest(self) -> SealingKey | None:
        return self.keys[0] if self.keys else None

    def private_keys(self) -> list[RSAPrivateKey]:
        return [k.private_key for k in self.keys]

    def _sort_key(self, key: SealingKey) -> Any:
        # ties (keys made within one second) are broken by the Secret's resourceVersion: the later write wins
        primary = key.not_before.isoformat() if self.order_by == "CertNotBefore" else key.created
        return (primary, key.created, key.resource_version)

    def _set(self, keys: list[SealingKey]) -> None:
        keys = sorted({k.fingerprint: k for k in keys}.values(), key=self._sort_key, reverse=True)
        if [k.fingerprint for k in keys] != [k.fingerprint for k in self.keys]:
            self.version += 1
        self.keys = keys

    async def load(self) -> None:
        """(Re)read every active key Secret, plus the legacy Secret named exactly `prefix`."""
        items, _ = await self.kube.list(kinds.SECRET, self.namespace, {LABEL_SEALING_KEY: "active"})
        with contextlib.suppress(NotFound):
            items.append(await self.kube.get(kinds.SECRET, self.prefix, self.namespace))
        known = {(k.secret_name, k.resource_version): k for k in self.keys}
        keys = []
        for secret in items:
            meta = secret.get("metadata", {})
            rv = str(meta.get("resourceVersion") or "0")
            cached = known.get((meta.get("name"), int(rv) if rv.isdigit() else 0))
            if cached is not None:  # unchanged Secret: no transit round trip on every reload
                keys.append(cached)
                continue
            try:
                keys.append(await load_key_secret(secret, self.key_wrapper))
            except SealingError as exc:
                if is_wrapped_secret(secret):
                    # never carry on without it: we would make a new key and seal with it while the wrapped
                    # key still holds every older SealedSecret
                    raise
                log.warning("skipping %s", exc)
        self._set(keys)
        self._loaded_at = time.monotonic()

    async def maybe_reload(self) -> None:
        """Pick up keys added by another replica or a restore, at most every `reload_interval` seconds."""
        if time.monotonic() - self._loaded_at > self.reload_interval:
            try:
                await self.load()
            except (KubeError, SealingError) as exc:
                log.warning("could not reload sealing keys (keeping the loaded ones): %s", exc)

    # -- writing --------------------------------------------------------------------------------------
    async def rotate(self) -> SealingKey:
        """Generate a new key now, store it as a Secret, make it the sealing key. Old keys stay."""
        async with self._lock:
            key, cert = await asyncio.to_thread(generate_key_pair, self.bits, common_name=self.common_name)
            annotations = dict(self.annotations)
            if self.key_wrapper is not None:
                annotations.update(self.key_wrapper.annotations())
            body = key_pair_secret(key, cert, namespace=self.namespace, prefix=self.prefix, labels=self.labels,
                                   annotations=annotations)
            body.pop("apiVersion", None), body.pop("kind", None)
            if self.key_wrapper is not None:  # wrap before anything is written: the plain key never leaves us
                wrapped = await self.key_wrapper.wrap(private_key_pem(key))
                body["data"]["tls.key"] = base64.b64encode(wrapped).decode()
            created = await self.kube.create(kinds.SECRET, body)
            new = key_from_secret(created, private_key_pem(key))
            self._set([new, *self.keys])
            log.info("new sealing key %s (%s)", new.secret_name, new.fingerprint)
            return new

    def due_in(self, now: dt.datetime | None = None) -> float | None:
        """Seconds until the next renewal (0 = now), or None when renewal is off and a key exists."""
        now = now or dt.datetime.now(dt.UTC)
        latest = self.latest
        if latest is None:
            return 0.0
        if self.cutoff is not None and latest.not_before < self.cutoff:
            return 0.0
        if not self.renew_period:
            return None
        return max(0.0, (latest.not_before + self.renew_period - now).total_seconds())

    async def ensure_key(self) -> None:
        """At start: a first key if there is none, a new one if the latest is older than the cutoff."""
        latest = self.latest
        if latest is None or (self.cutoff is not None and latest.not_before < self.cutoff):
            await self.rotate()

    async def renewal_loop(self, on_change: Callable[[], None] | None = None) -> None:
        """Leader task: rotate whenever the latest key is `renew_period` old; between times re-read the key
        Secrets every `reload_interval` (keys restored or rotated from the CLI) and call `on_change`."""
        while True:
            delay = self.due_in()
            if delay is None or delay > 0:
                await asyncio.sleep(self.reload_interval if delay is None else min(delay, self.reload_interval))
                before = self.version
                await self.maybe_reload()
                if on_change is not None and self.version != before:
                    on_change()
                continue
            try:
                await self.rotate()
                if on_change is not None:
                    on_change()
            except KubeError as exc:
                log.warning("key renewal failed, retrying in 60s: %s", exc)
                await asyncio.sleep(60)
