"""Starting the server: storage from config, the core, the dev-mode bootstrap, and the HTTP listener."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from granian.constants import Interfaces, SSLProtocols
from granian.server.embed import Server as EmbeddedServer

from strongroom.core.core import Core, CoreConfig
from strongroom.core.mounts import MountEntry
from strongroom.core.physical import Physical
from strongroom.core.physical.sqlite import SQLitePhysical
from strongroom.server.app import App
from strongroom.server.compose import build_core
from strongroom.server.config import ServerConfig
from strongroom.server.logging_setup import configure_logging

log = logging.getLogger("strongroom.server")


@dataclass
class DevOptions:
    root_token_id: str = ""
    listen_address: str = "127.0.0.1:8200"
    data_dir: str = ""
    no_store_token: bool = False


def _listener(app: App, host: str, port: int, cfg: ServerConfig) -> EmbeddedServer:
    """granian (Rust HTTP, hyper) embedded in our event loop: it accepts Vault's LIST verb, which the common
    Python HTTP parsers reject, and it serves several times more requests per core than they do."""
    tls = not cfg.listener.tls_disable
    return EmbeddedServer(
        app, address=host, port=port, interface=Interfaces.ASGINL, log_enabled=False, backlog=1024,
        websockets=False, runtime_threads=1,
        ssl_cert=Path(cfg.listener.tls_cert_file) if tls else None,
        ssl_key=Path(cfg.listener.tls_key_file) if tls else None,
        ssl_ca=Path(cfg.listener.tls_client_ca_file) if tls and cfg.listener.tls_client_ca_file else None,
        ssl_client_verify=bool(tls and cfg.listener.tls_client_ca_file),
        ssl_protocol_min=SSLProtocols.tls12,
    )


async def open_physical(cfg: ServerConfig) -> Physical:
    if cfg.storage_type == "sqlite":
        return SQLitePhysical(str(cfg.storage["path"]), synchronous=str(cfg.storage.get("synchronous", "FULL")))
    if cfg.storage_type == "postgresql":
        from strongroom.core.physical.postgresql import PostgresPhysical

        pg = PostgresPhysical(str(cfg.storage["connection_url"]),
                              max_size=int(cfg.storage.get("max_connections", 16)))
        await pg.open()
        return pg
    from strongroom.core.physical.inmem import InmemPhysical

    return InmemPhysical()


def core_config(cfg: ServerConfig) -> CoreConfig:
    c = CoreConfig(cluster_name=cfg.cluster_name, api_addr=cfg.api_addr, storage_type=cfg.storage_type,
                   audit_timeout=cfg.audit_timeout, audit_api_changes=cfg.audit_api_changes,
                   unauthed_rekey=cfg.unauthed_rekey)
    c.extra["anomaly"] = cfg.anomaly
    if cfg.default_lease_ttl:
        c.default_lease_ttl = cfg.default_lease_ttl
    if cfg.max_lease_ttl:
        c.max_lease_ttl = cfg.max_lease_ttl
    return c


async def dev_bootstrap(core: Core, opts: DevOptions, key_file: str) -> tuple[str, str]:
    """Initialises (1 share) and unseals; mounts secret/ as KV v2. Returns (unseal key b64, root token)."""
    import base64

    if await core.seal.initialized():
        if not os.path.exists(key_file):
            raise SystemExit(f"{key_file} is missing: this dev data dir cannot be unsealed automatically")
        with open(key_file, "rb") as f:
            key = f.read()
        await core.unseal_with_key(key)
        return base64.b64encode(key).decode(), ""
    keys, token = await core.initialize(1, 1, root_token_id=opts.root_token_id or None)
    await core.unseal_with_key(keys[0])
    await core.mount(MountEntry("secret/", "kv", "key/value secret storage", options={"version": "2"}))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(keys[0])
    return base64.b64encode(keys[0]).decode(), token


def dev_config(opts: DevOptions) -> ServerConfig:
    data_dir = opts.data_dir or tempfile.mkdtemp(prefix="strongroom-dev-")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    cfg = ServerConfig(storage_type="sqlite", storage={"path": os.path.join(data_dir, "strongroom.db"),
                                                       "synchronous": "NORMAL"})
    cfg.listener.address = opts.listen_address
    cfg.listener.tls_disable = True
    cfg.api_addr = f"http://{opts.listen_address}"
    cfg.raw["dev_data_dir"] = data_dir
    return cfg


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port or 8200)


def dev_banner(cfg: ServerConfig, unseal_key: str, token: str, out: object = sys.stdout) -> None:
    addr = cfg.api_addr
    lines = [
        "==> Strongroom server started in DEV mode. Never use dev mode in production.",
        "",
        "You may need to set the following environment variables:",
        f"    $ export VAULT_ADDR='{addr}'",
        "",
        "The unseal key and root token are displayed below in case you want to seal/unseal the server or",
        "re-authenticate.",
        "",
        f"Unseal Key: {unseal_key}",
        f"Root Token: {token or '(unchanged: the dev data dir was already initialised)'}",
        f"Data dir:   {cfg.raw.get('dev_data_dir', '')}",
        "",
    ]
    print("\n".join(lines), file=out, flush=True)  # type: ignore[call-overload]


async def serve(cfg: ServerConfig, *, dev: DevOptions | None = None) -> None:
    configure_logging(cfg.log_level, cfg.log_format)
    physical = await open_physical(cfg)
    core = build_core(physical, core_config(cfg))
    if isinstance(physical, SQLitePhysical):  # sole writer of its file: decrypted reads may be cached
        core.barrier.enable_read_cache()
    from strongroom.core.audit import AuditConfig

    core.audit.declared = [AuditConfig(a["path"], a["type"], a["description"], a["options"], declared=True)
                           for a in cfg.audit]
    if dev is not None:
        key_file = os.path.join(str(cfg.raw["dev_data_dir"]), ".dev-unseal-key")
        unseal_key, token = await dev_bootstrap(core, dev, key_file)
        dev_banner(cfg, unseal_key, token)
    app = App(core)
    from strongroom.server.extras import install_extras

    install_extras(app, cfg)
    host, port = _split_address(cfg.listener.address)
    server = _listener(app, host, port, cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    loop.add_signal_handler(signal.SIGHUP, core.audit.broker.reopen)  # log rotation
    log.info("listening on %s (tls %s)", cfg.listener.address, "off" if cfg.listener.tls_disable else "on")
    try:
        await server.serve()
    finally:
        if not core.sealed:
            await core.seal_vault()
        await physical.close()
        log.info("shut down cleanly")
