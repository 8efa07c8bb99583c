"""`strongroom kms-plugin`: run the Kubernetes KMS v2 plugin, manage its local keyring / PKCS#11 keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from strongroom.kms.backend import BackendError, KEKBackend

SOCKET = "unix:///var/run/kmsplugin/socket.sock"


def _emit(data: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        for k, v in data.items():
            click.echo(f"{k}: {v}")


def _pin(pin_file: str | None) -> str:
    if pin_file:
        return Path(pin_file).read_text().strip()
    pin = os.environ.get("STRONGROOM_PKCS11_PIN")
    if not pin:
        raise click.UsageError("PKCS#11 needs --pkcs11-pin-file or STRONGROOM_PKCS11_PIN")
    return pin


def build_backend(backend: str, opts: dict[str, Any]) -> KEKBackend:
    if backend == "keyring":
        from strongroom.kms.keyring import KeyringBackend

        if not opts["keyring"]:
            raise click.UsageError("--backend keyring needs --keyring PATH")
        return KeyringBackend(opts["keyring"])
    if backend == "transit":
        from strongroom.kms.transit import TransitBackend

        if not opts["vault_addr"] or not opts["transit_key"]:
            raise click.UsageError("--backend transit needs --vault-addr and --transit-key")
        return TransitBackend(
            opts["vault_addr"],
            opts["transit_key"],
            mount=opts["transit_mount"],
            token_file=opts["vault_token_file"],
            namespace=opts["vault_namespace"],
            cacert=opts["vault_cacert"],
        )
    from strongroom.kms.pkcs11_backend import Pkcs11Backend

    if not opts["pkcs11_token"]:
        raise click.UsageError("--backend pkcs11 needs --pkcs11-token")
    return Pkcs11Backend(
        opts["pkcs11_module"], opts["pkcs11_token"], _pin(opts["pkcs11_pin_file"]), opts["pkcs11_key_label"]
    )


@click.group(name="kms-plugin")
def cli() -> None:
    """Kubernetes KMS v2 plugin (gRPC on a unix socket) with keyring, transit or PKCS#11 KEKs."""


@cli.command()
@click.option("--socket", "endpoint", default=SOCKET, show_default=True, help="unix:///path or unix:///@abstract")
@click.option("--backend", type=click.Choice(["keyring", "transit", "pkcs11"]), required=True)
@click.option("--keyring", type=click.Path(dir_okay=False), help="keyring file (backend keyring)")
@click.option("--vault-addr", envvar="VAULT_ADDR", help="Vault/OpenBao/Strongroom address (backend transit)")
@click.option("--transit-key", help="transit key name")
@click.option("--transit-mount", default="transit", show_default=True)
@click.option("--vault-token-file", type=click.Path(dir_okay=False), help="else VAULT_TOKEN is used")
@click.option("--vault-namespace", help="Vault Enterprise namespace header (empty: none)")
@click.option("--vault-cacert", type=click.Path(dir_okay=False), help="CA bundle for the transit server (PEM)")
@click.option("--pkcs11-module", default="/usr/lib/softhsm/libsofthsm2.so", show_default=True)
@click.option("--pkcs11-token", help="token label")
@click.option("--pkcs11-pin-file", type=click.Path(dir_okay=False), help="else STRONGROOM_PKCS11_PIN")
@click.option("--pkcs11-key-label", default="strongroom-kms", show_default=True)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    help="key_id journal; keeps ids unique across restarts (A->B->A gives A_001)",
)
@click.option("--metrics-address", help="host:port for Prometheus /metrics, e.g. 127.0.0.1:9464")
@click.option("--workers", default=8, show_default=True)
@click.option("--grace", default=10.0, show_default=True, help="seconds to drain on SIGTERM")
@click.option("--status-ttl", default=10.0, show_default=True, help="seconds a healthy probe is cached")
@click.option("--decrypt-cache-size", default=1000, show_default=True, help="0 disables the seed cache")
def serve(
    endpoint: str,
    backend: str,
    state_file: str | None,
    metrics_address: str | None,
    workers: int,
    grace: float,
    status_ttl: float,
    decrypt_cache_size: int,
    **opts: Any,
) -> None:
    """Serve v2.KeyManagementService until SIGTERM, then drain in-flight calls."""
    from strongroom.kms.keyid import Journal
    from strongroom.kms.server import PluginServer
    from strongroom.kms.service import KMSService

    try:
        kek = build_backend(backend, opts)
        service = KMSService(kek, journal=Journal(state_file), status_ttl=status_ttl, cache_size=decrypt_cache_size)
        server = PluginServer(service, endpoint, workers=workers, metrics_address=metrics_address)
        st = service.probe()
        click.echo(
            f"kms-plugin: backend={backend} key_id={st.key_id} healthz={st.healthz} socket={server.path}",
            err=True,
        )
        server.serve_forever(grace)
    except (BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--socket", "endpoint", default=SOCKET, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
@click.option("--timeout", default=3.0, show_default=True)
def status(endpoint: str, fmt: str, timeout: float) -> None:
    """Call Status like the API server does; exit 1 unless healthz is ok (usable as a liveness probe)."""
    import grpc

    from strongroom.kms.client import KMSClient

    try:
        with KMSClient(endpoint, timeout=timeout) as client:
            st = client.status()
    except grpc.RpcError as exc:
        raise click.ClickException(f"Status failed: {exc.code().name}") from None
    _emit({"version": st.version, "healthz": st.healthz, "key_id": st.key_id}, fmt)
    if st.healthz != "ok":
        sys.exit(1)


@cli.group()
def keyring() -> None:
    """Manage a local keyring file (air-gapped clusters)."""


@keyring.command("init")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
def keyring_init(path: str, fmt: str) -> None:
    """Create a keyring with version 1 (mode 0600). Back it up: losing it loses every Secret."""
    from strongroom.kms import keyring as kr

    try:
        kr.create(path)
        _emit(kr.info(path), fmt)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


@keyring.command("rotate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--promote/--no-promote",
    default=True,
    show_default=True,
    help="--no-promote only adds the version: copy the file to every node, then `keyring promote`",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
def keyring_rotate(path: str, promote: bool, fmt: str) -> None:
    """Add a new KEK version (primary unless --no-promote); old versions keep decrypting."""
    from strongroom.kms import keyring as kr

    try:
        kr.rotate(path, promote=promote)
        _emit(kr.info(path), fmt)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


@keyring.command("promote")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--version", "version", type=int, help="default: the newest version")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
def keyring_promote(path: str, version: int | None, fmt: str) -> None:
    """Make a version primary (new seeds are wrapped with it; Status reports a new key_id)."""
    from strongroom.kms import keyring as kr

    try:
        kr.promote(path, version)
        _emit(kr.info(path), fmt)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


@keyring.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
def keyring_info(path: str, fmt: str) -> None:
    """Show id, primary and versions (never the keys)."""
    from strongroom.kms import keyring as kr

    try:
        _emit(kr.info(path), fmt)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def pkcs11() -> None:
    """Manage KEK versions inside a PKCS#11 token."""


@pkcs11.command("rotate")
@click.option("--pkcs11-module", default="/usr/lib/softhsm/libsofthsm2.so", show_default=True)
@click.option("--pkcs11-token", required=True)
@click.option("--pkcs11-pin-file", type=click.Path(dir_okay=False), help="else STRONGROOM_PKCS11_PIN")
@click.option("--pkcs11-key-label", default="strongroom-kms", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text for people, json for machines")
def pkcs11_rotate(
    pkcs11_module: str, pkcs11_token: str, pkcs11_pin_file: str | None, pkcs11_key_label: str, fmt: str
) -> None:
    """Generate the next AES-256 KEK version in the token (the first call creates version 1)."""
    from strongroom.kms import pkcs11_backend

    try:
        version = pkcs11_backend.rotate(pkcs11_module, pkcs11_token, _pin(pkcs11_pin_file), pkcs11_key_label)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from None
    _emit({"label": pkcs11_key_label, "version": version}, fmt)
