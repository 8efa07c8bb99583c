"""`strongroom seal diff` and `strongroom seal keygen` (subcommands of `strongroom seal`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from strongroom import sealing
from strongroom.cli._seal_io import SealCliError, read_source, write_atomic


def _objects(path: str) -> dict[tuple[str, str], dict[str, Any]]:
    data = sys.stdin.buffer.read() if path == "-" else read_source(path)
    try:
        objects = sealing.load_manifests(data)
    except sealing.SealingError as exc:
        raise SealCliError(f"{path}: {exc}") from None
    keyed: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        keyed[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = obj
    return keyed


def _keys(values: tuple[str, ...]) -> list[sealing.RSAPrivateKey]:
    keys: list[sealing.RSAPrivateKey] = []
    for value in values:
        for path in filter(None, (p.strip() for p in value.split(","))):
            try:
                keys.extend(sealing.load_private_keys(read_source(path)))
            except sealing.SealingError as exc:
                raise SealCliError(f"{path}: {exc}") from None
    return keys


def _compare(old_path: str, new_path: str, keys: list[sealing.RSAPrivateKey]) -> list[dict[str, Any]]:
    old, new = _objects(old_path), _objects(new_path)
    report: list[dict[str, Any]] = []
    for ident in sorted(set(old) | set(new)):
        entry: dict[str, Any] = {"namespace": ident[0], "name": ident[1]}
        if ident not in new:
            entry.update(change="removed", items=[], fields=[])
        elif ident not in old:
            entry.update(change="added", items=[], fields=[])
        else:
            try:
                result = sealing.diff_objects(old[ident], new[ident], keys).as_json()
            except sealing.SealingError as exc:
                raise SealCliError(f"{ident[0]}/{ident[1]}: {exc}") from None
            entry.update(change=result["status"], items=result["items"], fields=result["fields"])
        report.append(entry)
    return report


def _render_table(report: list[dict[str, Any]]) -> None:
    table = Table("object", "item / field", "change", "how we know")
    for entry in report:
        obj = f"{entry['namespace']}/{entry['name']}" if entry["namespace"] else entry["name"]
        if entry["change"] in ("added", "removed"):
            table.add_row(obj, "(whole object)", entry["change"], "object names")
            continue
        for item in entry["items"]:
            table.add_row(obj, item["item"], item["change"], item["basis"])
        for fld in entry["fields"]:
            table.add_row(obj, fld["field"], fld["change"], "clear metadata")
    Console(width=200).print(table)


@click.command(name="diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--private-key", multiple=True, metavar="FILE[,FILE...]",
              help="Private key(s) (PEM or key Secret backup) to compare values exactly.")
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs or is unknown (like git diff).")
def diff_command(old: str, new: str, private_key: tuple[str, ...], fmt: str, exit_code: bool) -> None:
    """Show which items of two Secrets/SealedSecrets were added, removed or changed, never their values.

    OLD and NEW are files ('-' for stdin) holding Secrets or SealedSecrets, paired by namespace/name.
    Without a private key, a value is known to have changed only when its length changed; same-length
    re-sealed values are reported as 'unknown' (sealing is randomised). With --private-key, values are
    decrypted and compared in memory.
    """
    report = _compare(old, new, _keys(private_key))
    changed = any(e["change"] != "unchanged" for e in report)
    if fmt == "json":
        click.echo(json.dumps({"objects": report, "changed": changed}, indent=2))
    else:
        _render_table(report)
    if exit_code and changed:
        sys.exit(1)


@click.command(name="keygen")
@click.option("--key-out", required=True, metavar="FILE",
              help="Where to write the PEM private key (mode 0600).")
@click.option("--cert-out", required=True, metavar="FILE", help="Where to write the PEM certificate.")
@click.option("--bits", type=click.IntRange(2048, 8192), default=sealing.DEFAULT_KEY_BITS, show_default=True)
@click.option("--common-name", default="", help="Certificate CN (upstream default: empty).")
@click.option("--secret-out", metavar="FILE",
              help="Also write the key as a controller key Secret (kubernetes.io/tls, active label).")
@click.option("--secret-namespace", default="kube-system", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def keygen_command(key_out: str, cert_out: str, bits: int, common_name: str, secret_out: str | None,
                   secret_namespace: str, force: bool) -> None:
    """Create a sealing key pair like the controller's (RSA, 10-year self-signed certificate)."""
    targets = [p for p in (key_out, cert_out, secret_out) if p]
    existing = [p for p in targets if Path(p).exists()]
    if existing and not force:
        raise SealCliError(f"refusing to overwrite {', '.join(existing)} (use --force)")
    key, cert = sealing.generate_key_pair(bits, common_name=common_name)
    write_atomic(Path(key_out), sealing.private_key_pem(key), mode=0o600)
    write_atomic(Path(cert_out), cert)
    if secret_out:
        secret = sealing.key_pair_secret(key, cert, namespace=secret_namespace)
        write_atomic(Path(secret_out), sealing.dump_manifests([secret], "yaml").encode(), mode=0o600)
    fingerprint = sealing.key_fingerprint(key.public_key())
    click.echo(f"wrote {key_out} (private, mode 0600) and {cert_out}; key {fingerprint}", err=True)
