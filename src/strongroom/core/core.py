"""The Core: storage, barrier, seal, mounts, tokens, policies, leases and the request pipeline, wired once.

The core never imports a concrete engine; the composition root (server/compose.py) passes factories in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.core import mounts as mt
from strongroom.core.barrier import Barrier, View
from strongroom.core.mounts import MountEntry
from strongroom.core.physical import Physical
from strongroom.core.policystore import PolicyStore
from strongroom.core.router import Route, Router
from strongroom.core.seal import SealConfig, SealManager
from strongroom.core.tokens.entry import TokenEntry
from strongroom.core.tokens.store import TokenStore
from strongroom.sdk.errors import InvalidRequest, Sealed
from strongroom.sdk.framework import Backend, BackendConfig

log = logging.getLogger("strongroom.core")

Factory = Callable[[BackendConfig], Backend]
CoreFactory = Callable[["Core", BackendConfig], Backend]


@dataclass
class CoreConfig:
    default_lease_ttl: int = 32 * 24 * 3600
    max_lease_ttl: int = 32 * 24 * 3600
    max_request_size: int = 32 * 1024 * 1024
    cluster_name: str = "strongroom"
    api_addr: str = ""
    storage_type: str = "sqlite"
    disable_mlock: bool = True
    audit_timeout: float = 1.0
    periodic_interval: float = 60.0
    unauthed_rekey: bool = True  # Vault's default; OpenBao 2.5+ defaults to false
    audit_api_changes: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Core:
    def __init__(self, physical: Physical, *, engines: Mapping[str, Factory], auth_methods: Mapping[str, Factory],
                 internal: Mapping[str, CoreFactory], config: CoreConfig | None = None) -> None:
        self.physical = physical
        self.config = config or CoreConfig()
        self.barrier = Barrier(physical)
        self.seal = SealManager(physical, self.barrier)
        self.engines = dict(engines)
        self.auth_methods = dict(auth_methods)
        self.internal = dict(internal)  # system, token: built by core modules with access to the Core
        self.router = Router()
        self.tokens = TokenStore(View(self.barrier, "sys/token/"))
        self.policies = PolicyStore(View(self.barrier, "sys/policy/"))
        self.mounts: list[MountEntry] = []
        self.auth_mounts: list[MountEntry] = []
        self._lock = asyncio.Lock()
        self.change_listeners: list[Callable[[str], Any]] = []
        self.cluster_id = ""
        self.post_unseal_hooks: list[Callable[[], Any]] = []
        self.pre_seal_hooks: list[Callable[[], Any]] = []
        self.unmount_hooks: list[Callable[[str], Any]] = []
        self._periodic_task: asyncio.Task[None] | None = None
        self.ha: Any = None  # core.ha.HA on PostgreSQL storage (scale-out); None = single node, always active
        from strongroom.core.audit import AuditManager
        from strongroom.core.expiration import ExpirationManager
        from strongroom.core.metrics import Metrics
        from strongroom.core.request import Pipeline
        from strongroom.core.wrapping import Wrapping

        self.metrics = Metrics()
        self.metrics.sealed.set(1)
        self.barrier.observe = lambda op, sec: self.metrics.storage.labels(op).observe(sec)
        self.tokens.on_revoke.append(self._count_revocation)
        self.tokens.on_create.append(lambda e: self.metrics.tokens_created.labels(e.path).inc())

        self.audit = AuditManager(self.barrier, timeout=self.config.audit_timeout,
                                  api_changes_allowed=self.config.audit_api_changes)
        self.audit.broker.on_failure.append(lambda device, _kind: self.metrics.audit_failures.labels(device).inc())
        self.wrapping = Wrapping(self)
        self.expiration = ExpirationManager(self)
        self.pipeline = Pipeline(self)
        from strongroom.core.anomaly import AnomalyDetector

        self.anomaly = AnomalyDetector(self, self.config.extra.get("anomaly"))
        self.tokens.on_revoke.append(self.expiration.revoke_by_token)
        self.tokens.on_revoke.append(self._drop_cubbyhole)
        system = self.internal["system"]
        self.system_backend = system(self, BackendConfig(storage=View(self.barrier, "sys/"), mount_path="sys/",
                                                         mount_type="system"))

    # --- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def sealed(self) -> bool:
        return self.barrier.sealed

    async def initialize(self, shares: int, threshold: int, *, root_token_id: str | None = None
                         ) -> tuple[list[bytes], str]:
        async with self._lock:
            keys, _ = await self.seal.initialize(SealConfig(shares, threshold))
            await self._setup(first_time=True)
            token = await self.create_root_token(root_token_id)
            await self._teardown()
            return keys, token

    async def create_root_token(self, token_id: str | None = None) -> str:
        entry = TokenEntry(id_hash="", accessor="", policies=["root"], display_name="root", orphan=True,
                           path="auth/token/root", renewable=False)
        return await self.tokens.create(entry, token_id=token_id)

    async def unseal(self, key: str) -> bool:
        async with self._lock:
            done = await self.seal.submit_unseal(key)
            if done and not self.router.routes():
                await self._setup()
            return done

    async def unseal_with_key(self, unseal_key: bytes) -> None:
        async with self._lock:
            await self.seal.unseal_with_key(unseal_key)
            await self._setup()

    async def seal_vault(self) -> None:
        async with self._lock:
            await self._teardown()

    async def _setup(self, *, first_time: bool = False) -> None:
        await self.tokens.setup()
        await self.policies.setup()
        cid = await self.barrier.get("core/cluster-id")
        if cid is None:
            import uuid

            cid = str(uuid.uuid4()).encode()
            await self.barrier.put("core/cluster-id", cid)
        self.cluster_id = cid.decode()
        await self._load_mounts()
        await self.audit.setup()
        await self.anomaly.start()
        await self.expiration.setup()
        self._periodic_task = asyncio.get_running_loop().create_task(self._periodic_loop())
        for hook in self.post_unseal_hooks:
            r = hook()
            if asyncio.iscoroutine(r):
                await r

    async def _teardown(self) -> None:
        for hook in self.pre_seal_hooks:
            r = hook()
            if asyncio.iscoroutine(r):
                await r
        for route in self.router.routes():
            if route.backend.clean is not None:
                await route.backend.clean()
        await self.expiration.stop()
        if self._periodic_task is not None:
            self._periodic_task.cancel()
            self._periodic_task = None
        await self.anomaly.stop()
        self.audit.teardown()
        self.router.clear()
        self.tokens.reset()
        self.policies.invalidate()
        self.mounts, self.auth_mounts = [], []
        self.barrier.seal()
        self.seal.reset_unseal()

    # --- mounts -------------------------------------------------------------------------------------------------

    def _defaults(self) -> tuple[list[MountEntry], list[MountEntry]]:
        secret = [
            MountEntry("cubbyhole/", "cubbyhole", "per-token private secret storage", local=True,
                       accessor=mt.new_accessor("cubbyhole")),
            MountEntry("sys/", "system", "system endpoints used for control, policy and debugging",
                       accessor=mt.new_accessor("system"), seal_wrap=True),
        ]
        auth = [MountEntry("token/", "token", "token based credentials", kind="auth",
                           accessor=mt.new_accessor("auth_token"))]
        return secret, auth

    async def _load_mounts(self) -> None:
        raw = await self.barrier.get(mt.MOUNTS_PATH)
        raw_auth = await self.barrier.get(mt.AUTH_PATH)
        if raw is None or raw_auth is None:
            self.mounts, self.auth_mounts = self._defaults()
            await self._persist_mounts()
        else:
            self.mounts, self.auth_mounts = mt.load(raw), mt.load(raw_auth)
        self.router.clear()
        for e in [*self.mounts, *self.auth_mounts]:
            await self._activate(e)

    async def _persist_mounts(self) -> None:
        await self.barrier.put(mt.MOUNTS_PATH, mt.dump(self.mounts))
        await self.barrier.put(mt.AUTH_PATH, mt.dump(self.auth_mounts))

    async def _count_revocation(self, entry: TokenEntry) -> None:
        self.metrics.tokens_revoked.inc()

    def refresh_gauges(self) -> None:
        """Values sampled when metrics are read, not on the hot path."""
        self.metrics.sealed.set(1 if self.sealed else 0)
        self.metrics.leases.set(len(self.expiration._heap))
        for path, st in self.audit.status().items():
            self.metrics.audit_latency.labels(path).set(st["last_latency"])
            self.metrics.audit_dropped.labels(path).set(st["dropped"])

    async def _periodic_loop(self) -> None:
        """Backends' housekeeping (key auto-rotation, tidy) every `periodic_interval` seconds."""
        while True:
            await asyncio.sleep(self.config.periodic_interval)
            if self.ha is not None and not self.ha.is_leader:
                continue  # scale-out: only the elected leader runs housekeeping
            for route in self.router.routes():
                if route.backend.periodic is None:
                    continue
                try:
                    await route.backend.periodic()
                except Exception:  # one backend's failure must not stop the others' housekeeping
                    log.exception("periodic function of %s failed", route.prefix)

    async def _drop_cubbyhole(self, entry: TokenEntry) -> None:
        for route in self.router.routes():
            if route.entry.type == "cubbyhole":
                from strongroom.sdk.storage import delete_recursive

                await delete_recursive(route.view, entry.id_hash + "/")

    async def issue_login_token(self, resp: Any, route: Route, api: Any) -> dict[str, Any]:
        from strongroom.core.login import issue_login_token

        return await issue_login_token(self, resp, route, api)

    async def register_lease(self, result: Any, req: Any, route: Route) -> None:
        from strongroom.core.context import caller

        entry = caller().entry  # unset here (the pipeline resets it after routing): fall back to the request's
        await self.expiration.register(result, req, route, entry.id_hash if entry else req.client_token_id)

    async def handle(self, api: Any) -> Any:
        return await self.pipeline.handle(api)

    def _factory(self, e: MountEntry) -> Callable[[BackendConfig], Backend]:
        if e.type == "system":
            return lambda cfg: self.system_backend
        if e.type in self.internal:
            f = self.internal[e.type]
            return lambda cfg: f(self, cfg)
        table = self.auth_methods if e.kind == "auth" else self.engines
        factory = table.get(e.type)
        if factory is None:
            kind = "auth method" if e.kind == "auth" else "secrets engine"
            raise InvalidRequest(f"plugin not found in the catalog: {e.type} (no such {kind})")
        return factory

    async def _activate(self, e: MountEntry) -> None:
        view = View(self.barrier, e.storage_prefix)
        prefix = e.route_path

        async def on_change(path: str) -> None:
            for listener in self.change_listeners:
                r = listener(prefix + path)
                if asyncio.iscoroutine(r):
                    await r

        cfg = BackendConfig(storage=view, mount_path=prefix, mount_type=e.type, options=dict(e.options),
                            default_lease_ttl=int(e.config.get("default_lease_ttl", 0)),
                            max_lease_ttl=int(e.config.get("max_lease_ttl", 0)), on_change=on_change)
        backend = self._factory(e)(cfg)
        if backend.initialize is not None:
            await backend.initialize()
        self.router.add(Route(e, backend, view))

    async def mount(self, e: MountEntry) -> None:
        if self.sealed:
            raise Sealed()
        async with self._lock:
            table = self.auth_mounts if e.kind == "auth" else self.mounts
            e.path = mt.normalize_path(e.path)
            if e.route_path in mt.PROTECTED or e.type in mt.SINGLETON_TYPES:
                raise InvalidRequest(f"cannot mount {e.type!r} at {e.route_path!r}")
            if e.kind != "auth" and e.path.startswith("auth/"):
                raise InvalidRequest("cannot mount under auth/")
            mt.check_conflict(table, e.path)
            e.accessor = e.accessor or mt.new_accessor(("auth_" if e.kind == "auth" else "") + e.type)
            self._factory(e)  # unknown type fails before anything is written
            table.append(e)
            try:
                await self._activate(e)
                await self._persist_mounts()
            except BaseException:
                table.remove(e)
                self.router.remove(e.route_path)
                raise

    async def unmount(self, route_path: str, kind: str = "secret") -> None:
        async with self._lock:
            route_path = mt.normalize_path(route_path)
            full = ("auth/" + route_path) if kind == "auth" else route_path
            if full in mt.PROTECTED:
                raise InvalidRequest(f"cannot unmount {full!r}")
            table = self.auth_mounts if kind == "auth" else self.mounts
            entry = next((e for e in table if e.route_path == full), None)
            if entry is None:
                return  # Vault: disabling a missing mount is a no-op success
            route = self.router.remove(full)
            if route is not None and route.backend.clean is not None:
                await route.backend.clean()
            for hook in self.unmount_hooks:
                r = hook(full)
                if asyncio.iscoroutine(r):
                    await r
            table.remove(entry)
            await self._persist_mounts()
            from strongroom.sdk.storage import delete_recursive

            await delete_recursive(View(self.barrier, entry.storage_prefix), "")

    async def tune(self, route_path: str, changes: dict[str, Any]) -> None:
        async with self._lock:
            route = self.router.get(mt.normalize_path(route_path))
            if route is None:
                raise InvalidRequest(f"no mount at {route_path}")
            e = route.entry
            opts = changes.pop("options", None)
            if opts:
                e.options.update({k: str(v) for k, v in opts.items()})
            desc = changes.pop("description", None)
            if desc is not None:
                e.description = desc
            e.config.update(changes)
            await self._persist_mounts()
            if opts:  # options change the backend (e.g. kv version): rebuild it
                self.router.remove(e.route_path)
                await self._activate(e)

    def find_route(self, path: str) -> tuple[Route, str] | None:
        return self.router.match(path)
