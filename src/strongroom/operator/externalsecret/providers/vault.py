"""`spec.provider.vault`: KV v1/v2 on Strongroom or any Vault/OpenBao, through strongroom.client.

Sessions: one login per store generation, token renewed before it expires (or re-login when not renewable),
revoked on close unless the token came from `tokenSecretRef` (ESO PR #381; ESO#376 was a login per reconcile).
Reads are deduplicated: concurrent reads of one path share one request and a result is reused for
`read_cache_seconds` (invalidated by change events), so 1,000 ExternalSecrets on one key cost one read.
Instant refresh: if the server offers `sys/events/kv` (Strongroom), a long-poll task reports changed paths.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import ssl
import time
from typing import Any

from strongroom.client import AsyncClient, ClientConfig, ClientError, Forbidden, NotFoundError
from strongroom.operator.externalsecret.metrics import PROVIDER_CALLS
from strongroom.operator.externalsecret.providers import base
from strongroom.operator.externalsecret.providers.base import (
    NoSecretError,
    ProviderError,
    Ref,
    StoreConfigError,
    StoreContext,
)
from strongroom.operator.kube import KubeError, kinds

log = logging.getLogger(__name__)
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
RENEW_BEFORE = 60.0


async def read_secret_key(ctx: StoreContext, ref: dict[str, Any], default_key: str = "") -> str:
    """The value of a SecretKeySelector (never logged)."""
    name, key = ref.get("name"), ref.get("key") or default_key
    if not name or not key:
        raise StoreConfigError("secret reference needs name and key")
    ns = ctx.ref_namespace(ref) if ctx.kind == "ClusterSecretStore" else ctx.namespace
    try:
        secret = await ctx.kube.get(kinds.SECRET, str(name), ns)
    except KubeError as exc:
        raise StoreConfigError(f'cannot read Secret "{ns}/{name}": {type(exc).__name__}') from None
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        raise StoreConfigError(f'Secret "{ns}/{name}" has no key "{key}"')
    return base64.b64decode(raw).decode().strip()


class VaultProvider:
    name = "vault"

    def __init__(self, ctx: StoreContext, read_cache_seconds: float = 2.0) -> None:
        self.ctx, self.spec = ctx, ctx.provider_spec("vault")
        if not self.spec.get("server"):
            raise StoreConfigError("spec.provider.vault.server is required")
        self.version = str(self.spec.get("version") or "v2")
        if self.version not in ("v1", "v2"):
            raise StoreConfigError('spec.provider.vault.version must be "v1" or "v2"')
        self.mount = str(self.spec["path"]).strip("/") if self.spec.get("path") else None
        auth = dict(self.spec.get("auth") or {})
        ca = self.spec.get("caBundle")
        try:
            ca_pem = base64.b64decode(ca, validate=True) if isinstance(ca, str) and ca else b""
        except ValueError:
            raise StoreConfigError("caBundle is not base64") from None
        ns = str(auth.get("namespace") or self.spec.get("namespace") or "")
        try:
            self.client = AsyncClient(ClientConfig(address=str(self.spec["server"]), token="", namespace=ns,
                                                   ca_pem=ca_pem, headers=dict(self.spec.get("headers") or {})))
        except (ssl.SSLError, ValueError, UnicodeDecodeError):
            raise StoreConfigError("caBundle is not a PEM certificate bundle") from None
        self.auth = auth
        self.read_cache_seconds = read_cache_seconds
        self._expires = 0.0
        self._renewable = False
        self._owned_token = True
        self._login_lock = asyncio.Lock()
        self._inflight: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._events_task: asyncio.Task[None] | None = None
        self.logins = 0
        self.renewals = 0
        self.reads = 0
        self.events_supported: bool | None = None

    # -- sessions -----------------------------------------------------------------------------------
    async def _login(self) -> None:
        a = self.auth
        self.logins += 1
        try:
            if "tokenSecretRef" in a:
                self.client.token = await read_secret_key(self.ctx, a["tokenSecretRef"], "token")
                self._owned_token, self._expires = False, float("inf")
                return
            if "appRole" in a:
                ar = a["appRole"]
                role_id = ar.get("roleId") or (await read_secret_key(self.ctx, ar["roleRef"])
                                               if ar.get("roleRef") else "")
                secret_id = await read_secret_key(self.ctx, ar.get("secretRef") or {})
                auth = await self.client.login(str(ar.get("path") or "approle"),
                                               {"role_id": role_id, "secret_id": secret_id})
            elif "userPass" in a:
                up = a["userPass"]
                pw = await read_secret_key(self.ctx, up.get("secretRef") or {})
                auth = await self.client.login(str(up.get("path") or "userpass"), {"password": pw},
                                               path=f"login/{up.get('username', '')}")
            elif "kubernetes" in a:
                k = a["kubernetes"]
                if k.get("secretRef"):
                    jwt = await read_secret_key(self.ctx, k["secretRef"], "token")
                elif k.get("serviceAccountRef"):
                    raise StoreConfigError("auth.kubernetes.serviceAccountRef (TokenRequest) is not supported yet; "
                                           "use secretRef or the operator's own token")
                else:
                    try:
                        with open(SA_TOKEN, encoding="utf-8") as fh:
                            jwt = fh.read().strip()
                    except OSError:
                        raise StoreConfigError("no service account token mounted") from None
                auth = await self.client.login(str(k.get("mountPath") or "kubernetes"),
                                               {"role": k.get("role", ""), "jwt": jwt})
            else:
                raise StoreConfigError(f"unsupported vault auth: {', '.join(sorted(a)) or 'none given'}")
        except ClientError as exc:
            PROVIDER_CALLS.labels("vault", "Login", "error").inc()
            raise ProviderError(f"vault login failed: HTTP {exc.status}") from None
        PROVIDER_CALLS.labels("vault", "Login", "success").inc()
        ttl = float(auth.get("lease_duration") or 0)
        self._expires = time.monotonic() + ttl if ttl > 0 else float("inf")
        self._renewable, self._owned_token = bool(auth.get("renewable")), True

    async def _session(self) -> None:
        async with self._login_lock:
            if self.client.token and time.monotonic() < self._expires - RENEW_BEFORE:
                return
            if self.client.token and self._renewable:
                with contextlib.suppress(ClientError):
                    auth = await self.client.renew_self()
                    ttl = float(auth.get("lease_duration") or 0)
                    self.renewals += 1
                    if ttl > RENEW_BEFORE:  # else the max TTL is near: log in again below
                        self._expires = time.monotonic() + ttl
                        return
            await self._login()

    async def _request(self, path: str, method: str = "GET") -> dict[str, Any] | None:
        await self._session()
        call = "ListSecrets" if method == "LIST" else "GetSecret"
        for attempt in (0, 1):
            try:
                self.reads += 1
                bare, _, query = path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&")) if query else None
                body = await self.client.request(method, bare, params=params)
                PROVIDER_CALLS.labels("vault", call, "success").inc()
                return body
            except NotFoundError:
                PROVIDER_CALLS.labels("vault", call, "success").inc()
                return None
            except Forbidden as exc:
                if attempt == 0 and self._owned_token:  # token revoked/expired under us: log in again once
                    self._expires = 0.0
                    await self._session()
                    continue
                raise ProviderError(f"vault denied {path}: HTTP {exc.status}") from None
            except ClientError as exc:
                PROVIDER_CALLS.labels("vault", call, "error").inc()
                raise ProviderError(f"vault error on {path}: HTTP {exc.status}") from None
        return None

    async def _read(self, path: str) -> dict[str, Any] | None:
        """GET with in-flight coalescing and a short result cache."""
        hit = self._cache.get(path)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        fut = self._inflight.get(path)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[path] = fut
        try:
            body = await self._request(path)
            fut.set_result(body)
            now = time.monotonic()
            if len(self._cache) > 4096:  # bounded: drop what has expired
                self._cache = {p: v for p, v in self._cache.items() if v[0] > now}
            self._cache[path] = (now + self.read_cache_seconds, body)
            return body
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(path, None)

    def invalidate(self, logical_path: str) -> None:
        mount, _, key = logical_path.partition("/")
        for p in list(self._cache):
            if p in (logical_path, f"{mount}/data/{key}", f"{mount}/metadata/{key}"):
                self._cache.pop(p, None)

    # -- paths (ESO's buildPath) --------------------------------------------------------------------
    def data_path(self, key: str, version: str = "") -> str:
        key = key.strip("/")
        if self.mount is not None:
            cut = self.mount + "/"
            if key.startswith(cut):
                key = key[len(cut):]
                if key.startswith("data/") and self.version == "v2":
                    key = key[5:]
            out = f"{self.mount}/data/{key}" if self.version == "v2" else f"{self.mount}/{key}"
        elif self.version == "v2" and "/data/" not in key:
            mount, _, rest = key.partition("/")
            out = f"{mount}/data/{rest}"
        else:
            out = key
        return out + (f"?version={version}" if version and self.version == "v2" else "")

    def logical_key(self, key: str) -> str:
        """`mount/key` as change events name it."""
        path = self.data_path(key).split("?")[0]
        return path.replace("/data/", "/", 1) if self.version == "v2" else path

    async def _secret(self, ref: Ref) -> dict[str, Any]:
        path = self.data_path(ref.key, ref.version)
        if ref.metadata_policy == "Fetch":
            if self.version != "v2":
                raise StoreConfigError("metadataPolicy Fetch needs KV v2")
            body = await self._read(path.split("?")[0].replace("/data/", "/metadata/", 1))
            if body is None:
                raise NoSecretError(f"secret {ref.key!r} not found")
            d = body.get("data") or {}
            meta = dict(d.get("custom_metadata") or {})
            for f in ("created_time", "current_version", "delete_version_after"):
                if f in d:
                    meta.setdefault(f, str(d[f]))
            return meta
        body = await self._read(path)
        data = (body or {}).get("data")
        if self.version == "v2":
            data = (data or {}).get("data") if isinstance(data, dict) else None
        if data is None:
            raise NoSecretError(f"secret {ref.key!r} not found")
        return dict(data)

    # -- protocol -----------------------------------------------------------------------------------
    async def validate(self) -> None:
        await self._session()
        try:
            await self.client.lookup_self()
        except ClientError as exc:
            raise ProviderError(f"vault token lookup failed: HTTP {exc.status}") from None

    async def get_secret(self, ref: Ref) -> bytes:
        return base.select_property(await self._secret(ref), ref.property, f"secret {ref.key!r}")

    async def get_secret_map(self, ref: Ref) -> dict[str, bytes]:
        secret = await self._secret(ref)
        if ref.property:
            value = base.gjson_get(secret, ref.property) if ref.property not in secret else secret[ref.property]
            if not isinstance(value, dict):
                raise NoSecretError(f"property {ref.property!r} of {ref.key!r} is not a map")
            secret = value
        return {str(k): base.encode_value(v) for k, v in secret.items()}

    async def find(self, path: str, name_regexp: str, tags: dict[str, str]) -> dict[str, bytes]:
        if self.version != "v2":
            raise StoreConfigError("dataFrom.find needs KV v2")
        mount = self.mount or path.strip("/").split("/")[0]
        prefix = path.strip("/")
        if not self.mount and prefix.startswith(mount):
            prefix = prefix[len(mount):].strip("/")
        names = await self._list_recursive(mount, prefix)
        rx = re.compile(name_regexp) if name_regexp else None
        out: dict[str, bytes] = {}
        for name in names:
            if rx is not None and not rx.search(name):
                continue
            if tags:
                meta = await self._read(f"{mount}/metadata/{name}")
                custom = ((meta or {}).get("data") or {}).get("custom_metadata") or {}
                if any(custom.get(k) != v for k, v in tags.items()):
                    continue
            with contextlib.suppress(NoSecretError):
                secret = await self._secret(Ref(f"{mount}/{name}" if not self.mount else name))
                out[name.replace("/", "_")] = base.encode_value(secret)
        return out

    async def _list_recursive(self, mount: str, prefix: str) -> list[str]:
        body = await self._request(f"{mount}/metadata/{prefix}".rstrip("/"), method="LIST")
        keys = ((body or {}).get("data") or {}).get("keys") or []
        out: list[str] = []
        for k in keys:
            full = f"{prefix}/{k}".strip("/") if prefix else k
            if k.endswith("/"):
                out += await self._list_recursive(mount, full.rstrip("/"))
            else:
                out.append(full)
        return out

    # -- change events (Strongroom) -------------------------------------------------------------------
    def start_events(self) -> None:
        if self._events_task is None and self.ctx.on_change is not None:
            self._events_task = asyncio.ensure_future(self._events_loop())

    async def _events_loop(self) -> None:
        since, delay = -1, 1.0
        while True:
            try:
                await self._session()
                body = await self.client.request("GET", "sys/events/kv",
                                                 params={"since": since, "wait": "25s"})
                data = (body or {}).get("data") or {}
                self.events_supported, delay = True, 1.0
                if data.get("reset") and self.ctx.on_change is not None:
                    self._cache.clear()  # events were dropped: everything we read may have changed
                    self.ctx.on_change("*")
                elif since >= 0:
                    for ev in data.get("events") or []:
                        self.invalidate(str(ev.get("path", "")))
                        if self.ctx.on_change is not None:
                            self.ctx.on_change(str(ev.get("path", "")))
                since = int(data.get("index", since))
            except asyncio.CancelledError:
                raise
            except (ClientError, ProviderError, StoreConfigError) as exc:
                if isinstance(exc, ClientError) and exc.status in (400, 403, 404, 405):
                    self.events_supported = False
                    log.info("vault at %s: no change events (HTTP %s); polling only", self.spec.get("server"),
                             exc.status)
                    return
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)

    async def close(self) -> None:
        if self._events_task is not None:
            self._events_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._events_task
        if self._owned_token and self.client.token:
            with contextlib.suppress(ClientError):
                await self.client.revoke_self()
        self.client.token = ""
        await self.client.aclose()


async def factory(ctx: StoreContext) -> VaultProvider:
    provider = VaultProvider(ctx, read_cache_seconds=float(ctx.extra.get("read_cache_seconds", 2.0)))
    provider.start_events()
    return provider


base.register("vault", factory)


async def push_secret(provider: VaultProvider, remote_key: str, prop: str, value: bytes, *,
                      if_not_exists: bool = False) -> bool:
    """PushSecret write (KV v2). With `prop` the value lands under that key of the secret (others kept); without
    it the value must be a JSON object and becomes the secret. Secrets not created by a PushSecret are never
    overwritten (ESO's `managed-by: external-secrets` custom metadata). Returns False when nothing was written."""
    import json

    if provider.version != "v2":
        raise StoreConfigError("PushSecret needs KV v2")
    path = provider.data_path(remote_key)
    meta_path = path.replace("/data/", "/metadata/", 1)
    meta = await provider._request(meta_path)
    current: dict[str, Any] | None = None
    if meta is not None:
        custom = ((meta.get("data") or {}).get("custom_metadata") or {})
        if custom.get("managed-by") != "external-secrets":
            raise ProviderError(f"secret {remote_key!r} exists and is not managed by external-secrets")
        if if_not_exists:
            return False
        body = await provider._request(path)
        current = dict(((body or {}).get("data") or {}).get("data") or {})
    if prop:
        new = {**(current or {}), prop: value.decode("utf-8", "surrogateescape")}
    else:
        try:
            new = json.loads(value)
        except ValueError:
            raise StoreConfigError("without remoteRef.property the pushed value must be a JSON object") from None
        if not isinstance(new, dict):
            raise StoreConfigError("without remoteRef.property the pushed value must be a JSON object")
    if new == current:
        return False
    try:
        await provider.client.request("POST", path, {"data": new})
        await provider.client.request("POST", meta_path, {"custom_metadata": {"managed-by": "external-secrets"}})
    except ClientError as exc:
        raise ProviderError(f"vault refused the write to {remote_key!r}: HTTP {exc.status}") from None
    provider.invalidate(provider.logical_key(remote_key))
    return True


async def delete_pushed(provider: VaultProvider, remote_key: str, prop: str) -> None:
    """Remove what a PushSecret wrote: the property, or the whole secret (only if we manage it)."""
    path = provider.data_path(remote_key)
    meta_path = path.replace("/data/", "/metadata/", 1)
    meta = await provider._request(meta_path)
    if meta is None or ((meta.get("data") or {}).get("custom_metadata") or {}).get("managed-by") != "external-secrets":
        return
    try:
        if prop:
            body = await provider._request(path)
            current = dict(((body or {}).get("data") or {}).get("data") or {})
            current.pop(prop, None)
            if current:
                await provider.client.request("POST", path, {"data": current})
                return
        await provider.client.request("DELETE", meta_path)
    except ClientError as exc:
        raise ProviderError(f"vault refused to delete {remote_key!r}: HTTP {exc.status}") from None
