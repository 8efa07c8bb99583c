"""`strongroom atrest`: EncryptionConfiguration generation, lint, staged rotation, re-encryption, etcd audit, DR
decrypt. Thin: parse options, call strongroom.atrest, render (rich tables on a TTY, JSON, SARIF)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from strongroom.atrest.config import ConfigError

err = Console(stderr=True)
FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)


def _json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )


@click.group(name="atrest")
def cli() -> None:
    """Kubernetes encryption at rest: config, lint, rotation, re-encryption, etcd audit and DR decrypt."""


# --- gen-config / lint --------------------------------------------------------------------------


@cli.command("gen-config")
@click.option(
    "--provider",
    type=click.Choice(["kms", "aesgcm", "secretbox", "aescbc"]),
    default="kms",
    show_default=True,
    help="first (write) provider; identity is always appended last",
)
@click.option("--resource", "resources", multiple=True, default=["secrets"], show_default=True)
@click.option("--kms-name", default="strongroom", show_default=True)
@click.option("--kms-endpoint", default="unix:///var/run/kmsplugin/socket.sock", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write here (mode 0600) instead of stdout")
@click.option("--stdout", "to_stdout", is_flag=True, help="print instead (the output contains a key)")
@click.option("--force", is_flag=True, help="overwrite an existing --output file")
def gen_config(
    provider: str,
    resources: tuple[str, ...],
    kms_name: str,
    kms_endpoint: str,
    output: str | None,
    to_stdout: bool,
    force: bool,
) -> None:
    """Write an EncryptionConfiguration with a fresh random key (or a KMS v2 provider)."""
    import yaml

    from strongroom.atrest.config import generate, write_atomic

    if provider == "aescbc":
        err.print("[yellow]warning:[/] aescbc is weak (padding oracle); prefer kms, secretbox or aesgcm")
    doc = generate(provider=provider, resources=resources, kms_name=kms_name, endpoint=kms_endpoint)
    text = yaml.safe_dump(doc, sort_keys=False)
    if output is None:
        if not to_stdout and provider != "kms":
            raise click.UsageError("choose --output FILE (written 0600) or --stdout (the config contains a key)")
        click.echo(text, nl=False)
        return
    if Path(output).exists() and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite (its keys would be lost)")
    write_atomic(output, text)
    err.print(f"wrote {output} (mode 0600)")


@cli.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "sarif"]), default="table", show_default=True)
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True)
def lint(config: str, fmt: str, fail_on: str) -> None:
    """Lint an EncryptionConfiguration: identity first, uncovered secrets, weak keys, aescbc, kms v1, ..."""
    from strongroom.atrest.lint import lint_file, to_sarif

    findings = lint_file(config)
    if fmt == "json":
        _json({"config": config, "findings": [f.as_dict() for f in findings]})
    elif fmt == "sarif":
        _json(to_sarif(findings, config))
    else:
        table = Table("rule", "severity", "location", "message", "fix", title=f"atrest lint {config}")
        for f in findings:
            table.add_row(f.rule, f.severity, f.location, f.message, f.remediation)
        Console().print(table if findings else "no findings")
    rank = {"info": 0, "warning": 1, "error": 2}
    if fail_on != "never" and any(rank[f.severity] >= rank[fail_on] for f in findings):
        sys.exit(1)


# --- rotate -------------------------------------------------------------------------------------


def _show_state(config: str, fmt: str) -> None:
    from dataclasses import asdict

    from strongroom.atrest.rotate import STEPS, load_state

    st = load_state(config)
    if fmt == "json":
        _json({**asdict(st), "next": st.next_action})
        return
    marks = " -> ".join(f"[bold green]{s}[/]" if s == st.step else s for s in STEPS)
    Console().print(f"rotation of {config}: {marks}")
    if st.step != "idle":
        Console().print(f"{st.mode} rotation in resources[{st.rule}] ({st.kind}): {st.old} -> {st.new}")
    Console().print(f"next: {st.next_action}")


@cli.group()
def rotate() -> None:
    """Staged rotation: start (add key 2nd) -> next (promote) -> next (verify re-encryption) -> next (drop old)."""


@rotate.command("status")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@FMT
def rotate_status(config: str, fmt: str) -> None:
    """Where the rotation is and what to do next."""
    _show_state(config, fmt)


@rotate.command("start")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--rule", default=0, show_default=True, help="index in resources[] to rotate")
@click.option(
    "--to",
    type=click.Choice(["aesgcm", "secretbox", "aescbc", "kms"]),
    help="switch provider instead of adding a key to the current one",
)
@click.option("--kms-name", default="strongroom", show_default=True)
@click.option("--kms-endpoint", default="unix:///var/run/kmsplugin/socket.sock", show_default=True)
@FMT
def rotate_start(config: str, rule: int, to: str | None, kms_name: str, kms_endpoint: str, fmt: str) -> None:
    """Add a new key (or provider) in second position: API servers learn to read it first."""
    from strongroom.atrest import rotate as r

    try:
        r.start(config, rule=rule, to=to, kms_name=kms_name, kms_endpoint=kms_endpoint)
    except (r.RotationError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    _show_state(config, fmt)


@rotate.command("next")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--etcd-endpoint", help="verify re-encryption by auditing etcd (promoted -> reencrypted)")
@click.option("--etcd-cacert", type=click.Path(dir_okay=False), help="etcd server CA bundle (PEM)")
@click.option("--etcd-cert", type=click.Path(dir_okay=False), help="etcd client certificate (PEM)")
@click.option("--etcd-key", type=click.Path(dir_okay=False), help="etcd client key (PEM)")
@click.option("--etcd-prefix", default="/registry/", show_default=True, help="the API server's --etcd-prefix")
@click.option("--force", is_flag=True, help="skip the re-encryption check (you verified another way)")
@FMT
def rotate_next(
    config: str,
    etcd_endpoint: str | None,
    etcd_cacert: str | None,
    etcd_cert: str | None,
    etcd_key: str | None,
    etcd_prefix: str,
    force: bool,
    fmt: str,
) -> None:
    """Take the next step, if it is safe now."""
    from strongroom.atrest import rotate as r

    remaining = None
    try:
        if etcd_endpoint and r.load_state(config).step == "promoted":
            remaining = _remaining_old(config, etcd_endpoint, etcd_cacert, etcd_cert, etcd_key, etcd_prefix)
            err.print(f"etcd audit: {remaining} value(s) not yet under the current key")
        r.advance(config, remaining_old=remaining, force=force)
    except (r.RotationError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    _show_state(config, fmt)


@rotate.command("abort")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@FMT
def rotate_abort(config: str, fmt: str) -> None:
    """Remove the key added by `start` (only before it was promoted)."""
    from strongroom.atrest import rotate as r

    try:
        r.abort(config)
    except (r.RotationError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    _show_state(config, fmt)


def _remaining_old(
    config: str, endpoint: str, cacert: str | None, cert: str | None, key: str | None, prefix: str
) -> int:
    from strongroom.atrest import audit
    from strongroom.atrest.config import load
    from strongroom.atrest.etcd import EtcdClient, EtcdError
    from strongroom.atrest.rotate import load_state

    cfg, st = load(config), load_state(config)
    client = EtcdClient(endpoint, cacert=cacert, cert=cert, key=key)
    try:
        return audit.not_current(client.scan(prefix.encode()), cfg, st.rule)
    except EtcdError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()


# --- reencrypt ----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--resource",
    "resources",
    multiple=True,
    default=["secrets"],
    show_default=True,
    help="secrets, configmaps or group/version/Kind/plural[/cluster]; repeatable",
)
@click.option("--namespace", "-n", help="only this namespace (default: all)")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="default: $KUBECONFIG / in-cluster")
@click.option("--context", help="kubeconfig context (default: the current one)")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default="reencrypt.checkpoint",
    show_default=True,
    help="resume file; delete it to start over",
)
@click.option("--qps", default=20.0, show_default=True, help="max writes per second (0 = unlimited)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--progress/--no-progress", default=None, help="default: on when stderr is a terminal")
def reencrypt(
    resources: tuple[str, ...],
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    checkpoint: str,
    qps: float,
    fmt: str,
    progress: bool | None,
) -> None:
    """Rewrite every object (get + replace with resourceVersion) so it is stored under the current key."""
    from lightkube import Client, KubeConfig
    from lightkube import ConfigError as KubeConfigError

    from strongroom.atrest import reencrypt as re_

    try:
        targets = [re_.parse_target(r) for r in resources]
        kc = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        config = kc.get(context_name=context) if context else kc
    except (ValueError, KubeConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    client = Client(config=config, field_manager="strongroom-atrest")
    cp = re_.Checkpoint(checkpoint)
    if cp.complete:
        err.print(f"checkpoint {checkpoint} says the last run completed; delete it to run again")
    show = err.is_terminal if progress is None else progress
    try:
        with _progress(show) as bar:
            task = bar.add_task("re-encrypting", total=None, rate="")

            def step(done: int, total: int, key: str) -> None:
                bar.update(task, completed=done, total=total, rate=key[-40:])

            result = re_.reencrypt(client, targets, checkpoint=cp, qps=qps, namespace=namespace, progress=step)
    finally:
        cp.close()
        client.close()
    if fmt == "json":
        _json(result.as_dict())
    else:
        Console().print(
            f"rewritten {result.rewritten}, resumed {result.resumed}, gone {result.gone}, "
            f"conflicts retried {result.conflicts}, failed {len(result.failed)}"
        )
        for f in result.failed:
            Console().print(f"  failed {f['object']}: {f['error']}")
    if result.failed:
        sys.exit(1)


# --- audit-etcd / decrypt -----------------------------------------------------------------------


def _kms_map(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for p in pairs:
        name, sep, endpoint = p.partition("=")
        if not sep:
            raise click.UsageError(f"--kms-socket {p!r}: use NAME=unix:///path.sock")
        out[name] = endpoint
    return out


ETCD_OPTS = [
    click.option(
        "--endpoints",
        default="http://127.0.0.1:2379",
        show_default=True,
        help="etcd client URL(s), comma separated; the first that answers is used",
    ),
    click.option("--cacert", type=click.Path(dir_okay=False), help="etcd server CA bundle (PEM)"),
    click.option("--cert", type=click.Path(dir_okay=False), help="etcd client certificate (PEM)"),
    click.option("--key", "keyfile", type=click.Path(dir_okay=False), help="etcd client key (PEM)"),
    click.option("--prefix", default="/registry/", show_default=True,
                 help="etcd key prefix of the API server"),
    click.option("--kms-socket", "kms_sockets", multiple=True, help="NAME=unix:///path (overrides the config)"),
]


def etcd_opts(f: Any) -> Any:
    for opt in reversed(ETCD_OPTS):
        f = opt(f)
    return f


@contextmanager
def _etcd(endpoints: str, cacert: str | None, cert: str | None, key: str | None) -> Iterator[Any]:
    from strongroom.atrest.etcd import EtcdClient, EtcdError

    last = ""
    for ep in [e.strip() for e in endpoints.split(",") if e.strip()]:
        client = EtcdClient(ep, cacert=cacert, cert=cert, key=key)
        try:
            client.count(b"/")
        except EtcdError as exc:
            last = str(exc)
            client.close()
            continue
        try:
            yield client
        finally:
            client.close()
        return
    raise click.ClickException(f"no etcd endpoint answered: {last}")


@cli.command("audit-etcd")
@etcd_opts
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="EncryptionConfiguration to compare with (finds stale and unknown keys)",
)
@click.option("--objects", is_flag=True, help="JSON: include one entry per object")
@click.option(
    "--fail-on",
    type=click.Choice(["unknown-key", "plaintext", "stale", "never"]),
    default="never",
    show_default=True,
    help="exit 1 when anything this bad (or worse) is found",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--progress/--no-progress", default=None, help="default: on when stderr is a terminal")
def audit_etcd(
    endpoints: str,
    cacert: str | None,
    cert: str | None,
    keyfile: str | None,
    prefix: str,
    kms_sockets: tuple[str, ...],
    config_path: str | None,
    objects: bool,
    fail_on: str,
    fmt: str,
    progress: bool | None,
) -> None:
    """Report, per resource and namespace, what is stored in plain text, with which provider and key, and what
    still uses a stale key. Reads etcd directly (read-only)."""
    from strongroom.atrest import audit
    from strongroom.atrest.config import load
    from strongroom.atrest.etcd import EtcdError

    try:
        cfg = load(config_path) if config_path else None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    key_ids = _current_key_ids(cfg, _kms_map(kms_sockets))
    findings: list[audit.Finding] = []
    show = err.is_terminal if progress is None else progress
    with _etcd(endpoints, cacert, cert, keyfile) as client:
        try:
            total = client.count(prefix.encode())
            with _progress(show) as bar:
                task = bar.add_task("auditing etcd", total=total, rate="")
                for i, kv in enumerate(client.scan(prefix.encode()), 1):
                    findings.append(audit.classify(kv, cfg, key_ids))
                    if i % 200 == 0:
                        bar.update(task, completed=i)
                bar.update(task, completed=len(findings))
        except EtcdError as exc:
            raise click.ClickException(str(exc)) from None
    rows = audit.summarize(findings)
    if fmt == "json":
        doc: dict[str, Any] = {"total": len(findings), "summary": rows, "current_key_ids": key_ids}
        if objects:
            doc["objects"] = [f.as_dict() for f in findings]
        _json(doc)
    else:
        table = Table("status", "resource", "namespace", "provider", "key", "count", title="etcd at-rest audit")
        style = {"unknown-key": "bold red", "unparseable": "red", "plaintext": "red", "stale": "yellow"}
        for r in rows:
            table.add_row(
                f"[{style.get(r['status'], 'green')}]{r['status']}[/]",
                r["resource"],
                r["namespace"],
                r["provider"],
                r["key"],
                str(r["count"]),
            )
        Console().print(table)
    worst = ["unknown-key", "plaintext", "stale"]
    if fail_on != "never":
        bad = set(worst[: worst.index(fail_on) + 1]) | ({"unparseable"})
        if any(f.status in bad for f in findings):
            sys.exit(1)


def _current_key_ids(cfg: Any, sockets: dict[str, str]) -> dict[str, str]:
    from strongroom.atrest.audit import current_kms_key_ids

    if cfg is None:
        return {}
    found, unreachable = current_kms_key_ids(cfg, sockets)
    for name in unreachable:
        err.print(f"[yellow]note:[/] kms {name!r} plugin not reachable; key_id staleness unchecked")
    return found


@cli.command()
@etcd_opts
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option(
    "--snapshot",
    type=click.Path(exists=True, dir_okay=False),
    help="etcd snapshot file (etcdctl snapshot save); restored into a temporary loopback etcd",
)
@click.option("--dump", type=click.Path(exists=True, dir_okay=False), help="`etcdctl get --prefix -w json` output")
@click.option("--out-dir", type=click.Path(file_okay=False), help="write one JSON file per object (mode 0600)")
@click.option("--stdout", "to_stdout", is_flag=True, help="print recovered objects (contain secret values!)")
@click.option("--progress/--no-progress", default=None,
              help="progress bar (default: on when stderr is a terminal)")
def decrypt(
    endpoints: str,
    cacert: str | None,
    cert: str | None,
    keyfile: str | None,
    prefix: str,
    kms_sockets: tuple[str, ...],
    config_path: str,
    snapshot: str | None,
    dump: str | None,
    out_dir: str | None,
    to_stdout: bool,
    progress: bool | None,
) -> None:
    """Disaster recovery: decrypt objects from etcd (live, snapshot or dump) with the EncryptionConfiguration;
    kms v2 values go through the plugin socket."""
    from strongroom.atrest import audit
    from strongroom.atrest.config import load
    from strongroom.atrest.etcd import EtcdError, read_dump, snapshot_server

    if not out_dir and not to_stdout:
        raise click.UsageError("choose --out-dir DIR or --stdout (recovered objects contain secret values)")
    try:
        cfg = load(config_path)
        if dump:
            kvs = read_dump(dump, prefix.encode())
        elif snapshot:
            with snapshot_server(snapshot) as url, _etcd(url, None, None, None) as client:
                kvs = list(client.scan(prefix.encode()))
        else:
            with _etcd(endpoints, cacert, cert, keyfile) as client:
                kvs = list(client.scan(prefix.encode()))
    except (ConfigError, EtcdError) as exc:
        raise click.ClickException(str(exc)) from None
    sockets, clients = _kms_map(kms_sockets), []

    def kms_for(provider: Any) -> Any:
        from strongroom.kms.client import KMSClient

        c = KMSClient(sockets.get(provider.name) or str(provider.raw.get("endpoint", "")), timeout=10)
        clients.append(c)
        return lambda ct, kid, ann: c.decrypt(ct, kid, ann)

    failed = 0
    show = err.is_terminal if progress is None else progress
    with _progress(show) as bar:
        task = bar.add_task("decrypting", total=len(kvs), rate="")
        for rec in audit.recover(kvs, cfg, kms_for):
            bar.advance(task)
            failed += bool(rec.error)
            _emit_recovered(rec, out_dir, to_stdout)
    for c in clients:
        c.close()
    err.print(f"recovered {len(kvs) - failed} of {len(kvs)} object(s); {failed} failed")
    if failed:
        sys.exit(1)


def _emit_recovered(rec: Any, out_dir: str | None, to_stdout: bool) -> None:
    line = rec.to_json()
    if to_stdout:
        click.echo(line.decode())
    if out_dir:
        rec.write_to(out_dir)
