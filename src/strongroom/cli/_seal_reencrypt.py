"""`strongroom seal reencrypt --in-cluster`: re-seal the SealedSecrets stored in a cluster with the newest key.

Thin: load the sealing keys (key Secrets in the controller namespace, unwrapped through transit or PKCS#11 when
they are wrapped), call strongroom.operator.sealedsecret.reencrypt, render a table or JSON, a progress bar on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from strongroom.cli._seal_io import SealCliError
from strongroom.sealing import DEFAULT_KEY_PREFIX, SealingError


def key_wrap_options(func: Any) -> Any:
    """`--key-wrap transit` and its settings; shared with `strongroom operator run`."""
    options = [
        click.option("--key-wrap", type=click.Choice(["none", "transit", "pkcs11"]), default="none",
                     show_default=True,
                     help="How the private keys are stored: plain in the key Secrets (upstream's way), "
                          "wrapped by a Strongroom transit key, or by an AES key in a PKCS#11 token."),
        click.option("--transit-address", envvar="STRONGROOM_ADDR", metavar="URL",
                     help="Strongroom server for --key-wrap transit."),
        click.option("--transit-mount", default="transit", show_default=True, help="transit engine mount"),
        click.option("--transit-key", default="sealed-secrets", show_default=True, help="transit key name"),
        click.option("--transit-token-file", type=click.Path(dir_okay=False), metavar="FILE",
                     help="File holding the Strongroom token (re-read at every use; never a flag value)."),
        click.option("--transit-ca-file", type=click.Path(dir_okay=False), metavar="FILE",
                     help="CA bundle to verify the Strongroom server's TLS certificate."),
        click.option("--pkcs11-module", default="/usr/lib/softhsm/libsofthsm2.so", show_default=True,
                     help="PKCS#11 library for --key-wrap pkcs11."),
        click.option("--pkcs11-token", metavar="LABEL", help="PKCS#11 token label."),
        click.option("--pkcs11-key-label", default="sealed-secrets-kek", show_default=True,
                     help="label of the AES key in the token (created on first use)"),
        click.option("--pkcs11-pin-file", type=click.Path(dir_okay=False), metavar="FILE",
                     help="file holding the token PIN; else the STRONGROOM_PKCS11_PIN environment variable"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _pkcs11_wrapper(module: str, token: str | None, key_label: str, pin_file: str | None) -> Any:
    if not token:
        raise click.UsageError("--key-wrap pkcs11 needs --pkcs11-token")
    if pin_file:
        try:
            pin = Path(pin_file).read_text().strip()
        except OSError as exc:
            raise click.UsageError(f"cannot read --pkcs11-pin-file: {exc.strerror}") from None
    else:
        pin = os.environ.get("STRONGROOM_PKCS11_PIN", "")
    if not pin:
        raise click.UsageError("--key-wrap pkcs11 needs --pkcs11-pin-file or STRONGROOM_PKCS11_PIN")
    from strongroom.operator.sealedsecret.keywrap_pkcs11 import Pkcs11KeyWrapper

    try:
        return Pkcs11KeyWrapper(module, token, pin, key_label)
    except SealingError as exc:
        raise click.ClickException(str(exc)) from None


def build_key_wrapper(key_wrap: str, transit_address: str | None, transit_mount: str, transit_key: str,
                      transit_token_file: str | None, transit_ca_file: str | None, pkcs11_module: str,
                      pkcs11_token: str | None, pkcs11_key_label: str, pkcs11_pin_file: str | None) -> Any:
    """None for plain keys, else a key wrapper; raises click.UsageError on missing settings."""
    if key_wrap == "none":
        return None
    if key_wrap == "pkcs11":
        return _pkcs11_wrapper(pkcs11_module, pkcs11_token, pkcs11_key_label, pkcs11_pin_file)
    if not transit_address or not transit_token_file:
        raise click.UsageError("--key-wrap transit needs --transit-address and --transit-token-file")
    from strongroom.operator.sealedsecret.keywrap import TransitKeyWrapper

    return TransitKeyWrapper(transit_address, transit_key, token_file=transit_token_file, mount=transit_mount,
                             ca_file=transit_ca_file)


def _render(summary: Any) -> None:
    table = Table("namespace", "name", "result", "sealed by (before)", "conflicts", "error",
                  title=f"newest key: {summary.newest_key}" + (" (dry run)" if summary.dry_run else ""))
    for r in summary.objects:
        table.add_row(r.namespace, r.name, r.action, ", ".join(r.sealed_by), str(r.conflicts or ""), r.error)
    Console(width=200).print(table)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts().items())) or "no SealedSecrets"
    Console(stderr=True).print(counts)


@click.command(name="reencrypt")
@click.option("--in-cluster", is_flag=True, help="Rewrite the SealedSecrets stored in the cluster (required; "
              "to rewrite files use `strongroom seal --re-encrypt -f FILE`).")
@click.option("--kubeconfig", envvar="KUBECONFIG", type=click.Path(dir_okay=False),
              help="kubeconfig file (default: in-cluster config, then ~/.kube/config)")
@click.option("--context", help="kubeconfig context to use")
@click.option("-n", "--namespace", default=None, help="only SealedSecrets in this namespace (default: all)")
@click.option("--controller-namespace", default="kube-system", show_default=True,
              help="where the controller's key Secrets live")
@click.option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True)
@click.option("--dry-run", is_flag=True, help="report what would be re-encrypted; write nothing")
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@key_wrap_options
def reencrypt_command(in_cluster: bool, kubeconfig: str | None, context: str | None, namespace: str | None,
                      controller_namespace: str, key_prefix: str, dry_run: bool, fmt: str,
                      **wrap: Any) -> None:
    """Re-seal every SealedSecret in the cluster that is not sealed with the newest key.

    Each item is opened with the keys one at a time to learn which key sealed it; stale items are re-sealed
    to the newest key and the object is updated with its resourceVersion (retried on conflict). Scope and
    spec.template are kept as they are. Needs read access to the key Secrets and update on SealedSecrets.
    Exit status 1 when any object could not be re-encrypted.
    """
    if not in_cluster:
        raise click.UsageError("give --in-cluster (files are re-encrypted with `strongroom seal --re-encrypt`)")
    wrapper = build_key_wrapper(**wrap)
    from strongroom.operator.kube import Kube, KubeError, load_config
    from strongroom.operator.sealedsecret import KeyRegistry
    from strongroom.operator.sealedsecret.reencrypt import reencrypt_in_cluster

    progress = Progress(TextColumn("re-encrypting"), BarColumn(), MofNCompleteColumn(),
                        console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())
    task = progress.add_task("objects", total=None)

    def tick(done: int, total: int, _result: Any) -> None:
        progress.update(task, completed=done, total=total)

    async def main() -> Any:
        async with Kube(load_config(kubeconfig, context)) as kube:
            registry = KeyRegistry(kube, controller_namespace, prefix=key_prefix, key_wrapper=wrapper)
            await registry.load()
            with progress:
                return await reencrypt_in_cluster(kube, registry.keys, namespace=namespace, dry_run=dry_run,
                                                  progress=tick)

    try:
        summary = asyncio.run(main())
    except (KubeError, SealingError) as exc:
        raise SealCliError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(summary.as_json(), indent=2))
    else:
        _render(summary)
    if any(r.action == "failed" for r in summary.objects):
        sys.exit(1)
