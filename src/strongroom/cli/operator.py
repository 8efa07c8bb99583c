"""`strongroom operator`: run the controllers, and manage SealedSecret sealing keys (list, rotate, backup,
restore). Thin: parse options, call strongroom.operator, render (rich tables or JSON)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.table import Table

from strongroom.cli._seal_reencrypt import build_key_wrapper, key_wrap_options
from strongroom.operator.kube import Kube, KubeError, load_config
from strongroom.sealing import DEFAULT_KEY_BITS, DEFAULT_KEY_PREFIX, SealingError

err = Console(stderr=True)
T = TypeVar("T")
FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str) -> dt.timedelta:
    """Go-style durations as upstream flags take them: `720h`, `1h30m`, `90s`, `0` (off)."""
    if text.strip() == "0":
        return dt.timedelta(0)
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise click.BadParameter(f"{text!r} is not a duration like 720h, 1h30m or 90s")
    h, mi, s = (float(g or 0) for g in m.groups())
    return dt.timedelta(hours=h, minutes=mi, seconds=s)


def _addr(text: str) -> tuple[str, int] | None:
    if text in ("", "off", "none"):
        return None
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise click.BadParameter(f"{text!r} is not host:port (or :port)")
    return (host or "0.0.0.0", int(port))  # noqa: S104 - pod ports listen on all interfaces


def _default_namespace() -> str:
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    sa = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return sa.read_text().strip() if sa.exists() else "kube-system"


def _json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _kube(kubeconfig: str | None, context: str | None) -> Kube:
    return Kube(load_config(kubeconfig, context))


def _run(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(fn())
    except (KubeError, SealingError) as exc:
        raise click.ClickException(str(exc)) from None


KUBE_OPTS = [
    click.option("--kubeconfig", envvar="KUBECONFIG", type=click.Path(dir_okay=False),
                 help="kubeconfig file (default: in-cluster config, then ~/.kube/config)"),
    click.option("--context", help="kubeconfig context to use"),
]


def kube_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(KUBE_OPTS):
        f = opt(f)
    return f


@click.group(name="operator")
def cli() -> None:
    """Run the Kubernetes controllers and manage SealedSecret sealing keys."""


@cli.command("run")
@kube_options
@click.option("--namespace", "namespace", default=None,
              help="controller namespace: keys and leader lease live here [default: POD_NAMESPACE, the "
                   "service-account namespace, else kube-system]")
@click.option("--controllers", default="sealedsecret", show_default=True,
              help="comma-separated controllers to run (sealedsecret, externalsecret, reloader)")
@click.option("--watch-namespace", default=None, help="only watch this namespace (default: all)")
@click.option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True)
@click.option("--key-size", type=int, default=DEFAULT_KEY_BITS, show_default=True, help="RSA bits of new keys")
@click.option("--key-renew-period", default="720h", show_default=True, help="new key every period; 0 disables")
@click.option("--key-cutoff-time", default=None,
              help="RFC 1123 time (as `date -R`): renew at start if the latest key is older")
@click.option("--listen-addr", default=":8080", show_default=True, help="kubeseal API (cert.pem, verify, rotate)")
@click.option("--health-addr", default=":8081", show_default=True, help="/healthz, /readyz, /metrics")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True)
@click.option("--update-status/--no-update-status", default=True, show_default=True)
@click.option("--normal-events/--no-normal-events", default=True, show_default=True,
              help="emit Normal `Unsealed` Events (Warning Events are always emitted)")
@click.option("--workers", type=int, default=8, show_default=True, help="concurrent reconciles")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@key_wrap_options
def run_cmd(kubeconfig: str | None, context: str | None, namespace: str | None, controllers: str,
            watch_namespace: str | None, key_prefix: str, key_size: int, key_renew_period: str,
            key_cutoff_time: str | None, listen_addr: str, health_addr: str, leader_elect: bool,
            update_status: bool, normal_events: bool, workers: int, log_level: str, **key_wrap: Any) -> None:
    """Run the controllers until SIGTERM/SIGINT. SIGUSR1 makes a new sealing key now."""
    from email.utils import parsedate_to_datetime

    from strongroom.operator.runtime import Runtime
    from strongroom.operator.sealedsecret import SealedSecretConfig, install

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    wanted = {c.strip() for c in controllers.split(",") if c.strip()}
    unknown = wanted - {"sealedsecret", "externalsecret", "reloader"}
    if unknown:
        raise click.BadParameter(f"unknown controller(s): {', '.join(sorted(unknown))}", param_hint="--controllers")
    cutoff = None
    if key_cutoff_time:
        try:
            cutoff = parsedate_to_datetime(key_cutoff_time)
        except (TypeError, ValueError):
            raise click.BadParameter("not an RFC 1123 time", param_hint="--key-cutoff-time") from None
    ns = namespace or _default_namespace()
    renew = parse_duration(key_renew_period)
    key_wrapper = build_key_wrapper(**key_wrap)

    async def main() -> None:
        async with _kube(kubeconfig, context) as kube:
            runtime = Runtime(kube, namespace=ns, leader_election=leader_elect, health_addr=_addr(health_addr))
            loop = asyncio.get_running_loop()
            if "sealedsecret" in wanted:
                app = install(runtime, SealedSecretConfig(
                    namespace=ns, key_prefix=key_prefix, key_bits=key_size, renew_period=renew or None,
                    key_cutoff=cutoff, watch_namespace=watch_namespace, update_status=update_status,
                    normal_events=normal_events, key_wrapper=key_wrapper,
                    workers=workers, listen=_addr(listen_addr)))
                loop.add_signal_handler(signal.SIGUSR1, lambda: asyncio.ensure_future(app.rotate()))
            es_app = _install_externalsecrets(runtime, wanted, watch_namespace, workers)
            runtime.install_signal_handlers()
            try:
                await runtime.run()
            finally:
                if es_app is not None:
                    await es_app.aclose()

    _run(main)


def _install_externalsecrets(runtime: Any, wanted: set[str], watch_namespace: str | None, workers: int) -> Any:
    """ExternalSecret controller and/or the rollout reloader (see docs/externalsecrets.md, docs/reloader.md)."""
    es_app = None
    if "externalsecret" in wanted:
        from strongroom.operator.externalsecret import ExternalSecretConfig
        from strongroom.operator.externalsecret import install as install_es

        es_app = install_es(runtime, ExternalSecretConfig(watch_namespace=watch_namespace, workers=workers))
    if "reloader" in wanted:
        from strongroom.operator.reloader import install as install_reloader

        install_reloader(runtime, watch_namespace=watch_namespace)
    return es_app


@cli.group("keys")
def keys() -> None:
    """SealedSecret sealing keys: list, rotate, backup, restore."""


def _ns_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--namespace", "-n", default=None,
                        help="controller namespace [default: POD_NAMESPACE, else kube-system]")(f)


def _render_records(records: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        _json(records)
        return
    table = Table(title=title)
    for col in records[0] if records else ("name", "fingerprint", "not_before"):
        table.add_column(col)
    for r in records:
        table.add_row(*(str(v) for v in r.values()))
    Console().print(table)


@keys.command("list")
@kube_options
@_ns_option
@click.option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True)
@FMT
def keys_list(kubeconfig: str | None, context: str | None, namespace: str | None, key_prefix: str,
              fmt: str) -> None:
    """List the sealing keys, newest (the one that seals) first."""
    from strongroom.operator.sealedsecret import backup

    async def main() -> list[dict[str, Any]]:
        async with _kube(kubeconfig, context) as kube:
            secrets = await backup.key_secrets(kube, namespace or _default_namespace(), key_prefix)
            return backup.summary(backup.describe(secrets))

    _render_records(_run(main), fmt, "sealing keys (newest first)")


@keys.command("rotate")
@kube_options
@_ns_option
@click.option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True)
@click.option("--key-size", type=int, default=DEFAULT_KEY_BITS, show_default=True)
@FMT
@key_wrap_options
def keys_rotate(kubeconfig: str | None, context: str | None, namespace: str | None, key_prefix: str,
                key_size: int, fmt: str, **key_wrap: Any) -> None:
    """Make a new sealing key now (old keys stay). Running controllers pick it up within 30 s.
    Give the controller's --key-wrap options when its keys are wrapped."""
    from strongroom.operator.sealedsecret import KeyRegistry, backup
    from strongroom.operator.sealedsecret.keys import wrapped_kind

    wrapper = build_key_wrapper(**key_wrap)

    async def main() -> dict[str, Any]:
        async with _kube(kubeconfig, context) as kube:
            ns = namespace or _default_namespace()
            if wrapper is None:  # never add a plain key beside wrapped ones
                kinds_ = {wrapped_kind(s) for s in await backup.key_secrets(kube, ns, key_prefix)} - {None}
                if kinds_:
                    raise SealingError(f"the existing keys are {'/'.join(sorted(map(str, kinds_)))}-wrapped: "
                                       "pass the controller's --key-wrap options")
            reg = KeyRegistry(kube, ns, prefix=key_prefix, bits=key_size, key_wrapper=wrapper)
            with err.status(f"generating a {key_size}-bit RSA key"):
                key = await reg.rotate()
            return {"name": key.secret_name, "fingerprint": key.fingerprint,
                    "not_before": key.not_before.isoformat()}

    _render_records([_run(main)], fmt, "new sealing key")


@keys.command("backup")
@kube_options
@_ns_option
@click.option("--key-prefix", default=DEFAULT_KEY_PREFIX, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (mode 0600); private keys are never printed to the terminal")
@FMT
def keys_backup(kubeconfig: str | None, context: str | None, namespace: str | None, key_prefix: str,
                output: Path, fmt: str) -> None:
    """Save EVERY sealing key (a v1 List of Secrets, readable by kubeseal --recovery-unseal)."""
    from strongroom.operator.sealedsecret import backup

    async def main() -> list[dict[str, Any]]:
        async with _kube(kubeconfig, context) as kube:
            secrets = await backup.key_secrets(kube, namespace or _default_namespace(), key_prefix)
            if not secrets:
                raise SealingError("no sealing keys found; nothing written")
            records = backup.summary(backup.describe(secrets))
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(backup.render_backup(secrets))
            return records

    records = _run(main)
    if fmt == "json":
        _json({"output": str(output), "keys": records})
    else:
        _render_records(records, fmt, f"backed up to {output}")


@keys.command("restore")
@kube_options
@_ns_option
@click.option("-f", "--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="validate and show what would be created")
@FMT
def keys_restore(kubeconfig: str | None, context: str | None, namespace: str | None, path: Path, dry_run: bool,
                 fmt: str) -> None:
    """Restore keys from a backup; every key is validated before any is written. Existing keys are kept."""
    from strongroom.operator.sealedsecret import backup

    async def main() -> list[dict[str, Any]]:
        secrets = backup.parse_backup(path.read_bytes())
        async with _kube(kubeconfig, context) as kube:
            return backup.summary(await backup.restore(kube, namespace or _default_namespace(), secrets,
                                                       dry_run=dry_run))

    _render_records(_run(main), fmt, "restored keys")
    if sys.stdout.isatty() and not dry_run:
        err.print("controllers pick up restored keys within 30 s")
