"""`strongroom seal`: kubeseal-compatible sealing, plus multi-cluster sealing, `seal diff` and `seal keygen`.

`strongroom seal < secret.yaml` seals (kubeseal's default action); `seal diff` and `seal keygen` are
subcommands of the same click group (invoke_without_command). Thin: parse, call strongroom.sealing, render.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from strongroom import sealing
from strongroom.cli._seal_commands import diff_command, keygen_command
from strongroom.cli._seal_io import (
    DEFAULT_TIMEOUT,
    CertSource,
    SealCliError,
    fetch_controller_cert,
    format_for_path,
    post_sealed_secret,
    read_source,
    write_atomic,
)
from strongroom.cli._seal_reencrypt import reencrypt_command

F = TypeVar("F", bound=Callable[..., Any])
ENV = "SEALED_SECRETS_"


@contextmanager
def _user_errors() -> Iterator[None]:
    """Library errors become `Error: ...` with exit status 1 (their messages never hold values)."""
    try:
        yield
    except sealing.SealingError as exc:
        raise SealCliError(str(exc)) from None


@dataclass
class Recipient:
    name: str
    pem: bytes
    key: sealing.RSAPublicKey | None = None


@dataclass
class SealOptions:
    file: str | None
    output_file: str | None
    cert: tuple[str, ...]
    controller_url: str | None
    scope: str | None
    format: str | None
    raw: bool
    name: str | None
    namespace: str | None
    from_file: tuple[str, ...]
    merge_into: str | None
    re_encrypt: bool
    validate: bool
    recovery_unseal: bool
    recovery_private_key: tuple[str, ...]
    fetch_cert: bool
    allow_empty_data: bool
    timeout: float
    recipients: list[Recipient] = field(default_factory=list)

    @property
    def scope_enum(self) -> sealing.Scope | None:
        return sealing.Scope(self.scope) if self.scope else None

    def out_format(self, path: str | None = None) -> str:
        return self.format or format_for_path(path or self.output_file, "json")


# --- inputs and outputs ---------------------------------------------------------------------------------

def _read_input(opts: SealOptions) -> bytes:
    if opts.file and opts.file != "-":
        return read_source(opts.file, opts.timeout)
    if sys.stdin.isatty():
        click.echo("(reading from stdin; pass -f FILE or pipe a manifest)", err=True)
    return sys.stdin.buffer.read()


def _load_objects(data: bytes, kind: str) -> list[dict[str, Any]]:
    with _user_errors():
        objects = sealing.load_manifests(data, expand_lists=True)  # `kubectl get ... -o yaml` gives a List
    if not objects:
        raise SealCliError(f"no {kind} found in the input")
    return objects


def _emit(text: str, path: str | None) -> None:
    if path and path != "-":
        write_atomic(Path(path), text.encode())
    else:
        click.echo(text, nl=False)


def _recipients(opts: SealOptions) -> list[Recipient]:
    """Every `--cert` (file, URL) or, failing that, the controller's current certificate."""
    if opts.cert:
        sources = [CertSource.parse(c) for c in opts.cert]
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise SealCliError("two --cert values share a name; give them NAME=SOURCE names")
        return [Recipient(s.name, read_source(s.source, opts.timeout)) for s in sources]
    if opts.controller_url:
        return [Recipient("controller", fetch_controller_cert(opts.controller_url, opts.timeout))]
    raise SealCliError("no sealing certificate: pass --cert FILE|URL or --controller-url URL")


def _with_keys(recipients: list[Recipient]) -> list[Recipient]:
    for r in recipients:
        try:
            r.key = sealing.load_recipient(r.pem)
        except sealing.CertificateError as exc:
            raise SealCliError(f"certificate {r.name!r}: {exc}") from None
    return recipients


# --- actions --------------------------------------------------------------------------------------------

def _seal(opts: SealOptions) -> None:
    recipients = _with_keys(_recipients(opts))
    out = opts.output_file
    if len(recipients) > 1 and out and "{cluster}" not in out:
        raise SealCliError("sealing to several certificates: use -w with a {cluster} placeholder, "
                           "e.g. -w sealed/{cluster}/secret.yaml, or write the stream to stdout")
    secrets = _load_objects(_read_input(opts), "Secret")
    per_recipient: list[tuple[Recipient, list[dict[str, Any]]]] = []
    for r in recipients:
        assert r.key is not None
        sealed = []
        for index, secret in enumerate(secrets, 1):
            try:
                sealed.append(sealing.seal_secret(secret, r.key, opts.scope_enum, name=opts.name,
                                                  namespace=opts.namespace,
                                                  allow_empty_data=opts.allow_empty_data))
            except sealing.SealingError as exc:
                where = f"document {index}: " if len(secrets) > 1 else ""
                raise SealCliError(f"{where}{exc}") from None
        per_recipient.append((r, sealed))
    if out and "{cluster}" in out:
        for r, sealed in per_recipient:
            path = out.replace("{cluster}", r.name)
            _emit(sealing.dump_manifests(sealed, opts.out_format(path)), path)
        return
    everything = [obj for _, sealed in per_recipient for obj in sealed]
    _emit(sealing.dump_manifests(everything, opts.out_format()), out)


def _raw(opts: SealOptions) -> None:
    recipients = _with_keys(_recipients(opts))
    if len(recipients) != 1:
        raise SealCliError("--raw seals to exactly one certificate")
    if len(opts.from_file) > 1:
        raise SealCliError("--raw takes at most one --from-file")
    source = opts.from_file[0].split("=", 1)[-1] if opts.from_file else None
    value = read_source(source, opts.timeout) if source else _read_input(opts)
    scope = opts.scope_enum or sealing.Scope.STRICT
    namespace = opts.namespace or "default"
    if scope is sealing.Scope.STRICT and not opts.name:
        raise SealCliError("--raw with the strict scope needs --name (and --namespace)")
    assert recipients[0].key is not None
    with _user_errors():
        sealed = sealing.seal_value(recipients[0].key, scope, namespace, opts.name, value)
    _emit(sealed, opts.output_file)


def _single(objects: list[dict[str, Any]], what: str) -> dict[str, Any]:
    if len(objects) != 1:
        raise SealCliError(f"{what} must hold exactly one object, found {len(objects)}")
    return objects[0]


def _merge_into(opts: SealOptions) -> None:
    assert opts.merge_into is not None
    recipients = _with_keys(_recipients(opts))
    if len(recipients) != 1:
        raise SealCliError("--merge-into seals to exactly one certificate")
    target_bytes = read_source(opts.merge_into)
    existing = _single(_load_objects(target_bytes, "SealedSecret"), opts.merge_into)
    secret = copy.deepcopy(_single(_load_objects(_read_input(opts), "Secret"), "the input"))
    if existing.get("kind") != sealing.KIND:
        raise SealCliError(f"{opts.merge_into} is not a SealedSecret")
    existing_scope = sealing.scope_of(existing)
    scope = opts.scope_enum or existing_scope
    if scope is not existing_scope:
        raise SealCliError(f"--scope {scope.value} differs from the {existing_scope.value} scope of "
                           f"{opts.merge_into}; its items could not all be unsealed")
    meta = secret.get("metadata")
    if not isinstance(meta, dict):
        meta = secret["metadata"] = {}
    meta["name"] = existing["metadata"].get("name")
    meta["namespace"] = existing["metadata"].get("namespace")
    assert recipients[0].key is not None
    with _user_errors():
        update = sealing.seal_secret(secret, recipients[0].key, scope, allow_empty_data=opts.allow_empty_data)
        merged = sealing.merge_into(existing, update)
    default = "json" if target_bytes.lstrip().startswith(b"{") else "yaml"
    fmt = opts.format or format_for_path(opts.merge_into, default)
    write_atomic(Path(opts.merge_into), sealing.dump_manifests([merged], fmt).encode())


def _controller(opts: SealOptions) -> str:
    if not opts.controller_url:
        raise SealCliError("this needs the controller: pass --controller-url URL "
                           "(e.g. a `kubectl proxy` service-proxy URL or a port-forward)")
    return opts.controller_url


def _sealed_inputs(opts: SealOptions) -> list[dict[str, Any]]:
    objects = _load_objects(_read_input(opts), "SealedSecret")
    for obj in objects:
        if obj.get("kind") != sealing.KIND or obj.get("apiVersion") != sealing.API_VERSION:
            raise SealCliError(f"expected {sealing.API_VERSION} SealedSecrets, got {obj.get('kind') or '?'}")
    return objects


def _re_encrypt(opts: SealOptions) -> None:
    url = _controller(opts)
    results = []
    for obj in _sealed_inputs(opts):
        name = obj.get("metadata", {}).get("name", "?")
        response = post_sealed_secret(url, "/v1/rotate", obj, opts.timeout)
        if response.status_code != 200:
            raise SealCliError(f"cannot re-encrypt sealed secret {name}: HTTP {response.status_code}")
        try:
            rotated = response.json()
        except ValueError:
            raise SealCliError(f"the controller answered {name} with something that is not JSON") from None
        meta = rotated.setdefault("metadata", {})
        for server_field in ("deletionTimestamp", "generation"):
            meta.pop(server_field, None)
        meta["creationTimestamp"] = None
        results.append(rotated)
    target = opts.output_file or (opts.file if opts.file and opts.file != "-" else None)
    _emit(sealing.dump_manifests(results, opts.out_format(target)), target)


def _validate(opts: SealOptions) -> None:
    url = _controller(opts)
    for obj in _sealed_inputs(opts):
        name = obj.get("metadata", {}).get("name", "?")
        response = post_sealed_secret(url, "/v1/verify", obj, opts.timeout)
        if response.status_code == 409:
            raise SealCliError(f"unable to decrypt sealed secret: {name}")
        if response.status_code != 200:
            raise SealCliError(f"cannot validate sealed secret: {name}: HTTP {response.status_code}")


def _recovery_keys(paths: tuple[str, ...]) -> list[sealing.RSAPrivateKey]:
    keys: list[sealing.RSAPrivateKey] = []
    for item in paths:
        for path in filter(None, (p.strip() for p in item.split(","))):
            try:
                keys.extend(sealing.load_private_keys(read_source(path)))
            except sealing.SealingError as exc:
                raise SealCliError(f"{path}: {exc}") from None
    if not keys:
        raise SealCliError("--recovery-unseal needs --recovery-private-key FILE[,FILE...]")
    return keys


def _recovery_unseal(opts: SealOptions) -> None:
    keys = _recovery_keys(opts.recovery_private_key)
    secrets = []
    for obj in _sealed_inputs(opts):
        with _user_errors():
            secrets.append(sealing.unseal_sealed_secret(obj, keys, accept_v1_data=False))
    _emit(sealing.dump_manifests(secrets, opts.out_format()), opts.output_file)


def _fetch_cert(opts: SealOptions) -> None:
    _emit(b"".join(r.pem for r in _recipients(opts)).decode(), opts.output_file)


def run_seal(opts: SealOptions) -> None:
    modes = {"--raw": opts.raw, "--merge-into": bool(opts.merge_into), "--re-encrypt": opts.re_encrypt,
             "--validate": opts.validate, "--recovery-unseal": opts.recovery_unseal,
             "--fetch-cert": opts.fetch_cert}
    chosen = [flag for flag, on in modes.items() if on]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} cannot be combined")
    actions: dict[str, Callable[[SealOptions], None]] = {
        "--raw": _raw, "--merge-into": _merge_into, "--re-encrypt": _re_encrypt, "--validate": _validate,
        "--recovery-unseal": _recovery_unseal, "--fetch-cert": _fetch_cert}
    actions.get(chosen[0] if chosen else "", _seal)(opts)


# --- click wiring ---------------------------------------------------------------------------------------

def _seal_options(func: F) -> F:
    options = [
        click.option("-f", "--file", "file", metavar="FILE", envvar=ENV + "FILE",
                     help="Input manifest (YAML or JSON, several documents allowed). Default: stdin."),
        click.option("-w", "--output-file", metavar="FILE", envvar=ENV + "OUTPUT_FILE",
                     help="Write here (atomically) instead of stdout. .yaml/.yml selects YAML. With several "
                          "--cert, a {cluster} placeholder writes one file per certificate."),
        click.option("--cert", multiple=True, metavar="[NAME=]FILE|URL", envvar=ENV + "CERT",
                     help="Certificate (or public key) to seal to: a file, file:// or http(s):// URL. Repeat "
                          "to seal for several clusters at once; NAME fills {cluster} in -w."),
        click.option("--controller-url", metavar="URL", envvar=ENV + "CONTROLLER_URL",
                     help="Base URL of the controller's HTTP API (/v1/cert.pem, /v1/verify, /v1/rotate)."),
        click.option("--scope", type=click.Choice([s.value for s in sealing.Scope]), envvar=ENV + "SCOPE",
                     help="Where the result may be unsealed. Default: what the Secret's annotations say "
                          "(strict if none). An explicit value rewrites the annotations."),
        click.option("-o", "--format", "format", type=click.Choice(["json", "yaml"]), envvar=ENV + "FORMAT",
                     help="Output format (default json, or yaml when the output file is .yaml/.yml)."),
        click.option("--raw", is_flag=True, help="Seal one value (stdin or --from-file); print only base64."),
        click.option("--name", help="Secret name (overrides the input's; required for --raw strict)."),
        click.option("-n", "--namespace", envvar=ENV + "NAMESPACE",
                     help="Namespace (must match the input's if it declares one). Default: 'default'."),
        click.option("--from-file", multiple=True, metavar="[KEY=]PATH", help="Value for --raw."),
        click.option("--merge-into", metavar="FILE",
                     help="Seal the input Secret's items into this existing SealedSecret file, in place."),
        click.option("--re-encrypt", "--rotate", "re_encrypt", is_flag=True,
                     help="Have the controller re-encrypt the input SealedSecrets with its newest key."),
        click.option("--validate", is_flag=True, help="Ask the controller whether it can unseal the input."),
        click.option("--recovery-unseal", is_flag=True,
                     help="Offline disaster recovery: unseal the input with --recovery-private-key. "
                          "Prints plaintext Secrets."),
        click.option("--recovery-private-key", multiple=True, metavar="FILE[,FILE...]",
                     envvar=ENV + "RECOVERY_PRIVATE_KEY",
                     help="PEM private key(s) or key Secret backups (kubectl get secret -l "
                          "sealedsecrets.bitnami.com/sealed-secrets-key -o yaml)."),
        click.option("--fetch-cert", is_flag=True, help="Print the certificate that would be used; exit."),
        click.option("--allow-empty-data", is_flag=True, help="Seal a Secret that has no data."),
        click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
                     help="Seconds for each HTTP request."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class _SealGroup(click.Group):
    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and self.get_command(ctx, args[0]) is None:
            raise click.UsageError(f"unexpected argument {args[0]!r}: give the input with -f FILE or on stdin "
                                   "(subcommands: diff, keygen, reencrypt)", ctx)
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        path = ctx.command_path
        formatter.write(f"Usage: {path} [OPTIONS] < secret.yaml\n       {path} diff|keygen|reencrypt [ARGS]...\n")


@click.group(name="seal", cls=_SealGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SEALED_SECRETS"})
@_seal_options
@click.pass_context
def cli(ctx: click.Context, /, **kwargs: Any) -> None:
    """Seal Kubernetes Secrets into SealedSecrets that only the target cluster can open (kubeseal-compatible).

    \b
      strongroom seal --cert cert.pem -o yaml < secret.yaml > sealed.yaml
      strongroom seal --cert prod=prod.pem --cert dev=dev.pem -w sealed/{cluster}/db.yaml -f db.yaml
      strongroom seal --raw --cert cert.pem --namespace ns --name db --from-file password.txt
      strongroom seal diff old-sealed.yaml new-sealed.yaml
    """
    if ctx.invoked_subcommand is not None:
        return
    run_seal(SealOptions(**kwargs))


cli.add_command(diff_command)
cli.add_command(keygen_command)
cli.add_command(reencrypt_command)
