"""`strongroom audit`: tail, search, summarise, verify-hmac and export over audit FILES (no server needed,
except `verify-hmac --salt-from-server`). Thin: parse options, call strongroom.auditlog, render (rich tables,
`--format json`). Malformed lines are skipped, counted and reported; `--strict` turns them into exit code 1."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from strongroom import auditlog as al

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)
FMT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
                   help="table for people, json for machines")
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def _json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _when(value: str | None, what: str) -> float:
    if not value:
        return 0.0
    try:
        return al.parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--path", "paths", multiple=True, help="path glob, e.g. 'secret/data/app/*' (repeatable)"),
        click.option("--operation", "operations", multiple=True,
                     type=click.Choice(["create", "read", "update", "patch", "delete", "list", "help",
                                        "alias-lookahead", "resolve-role", "revoke", "renew", "rollback"]),
                     help="request operation (repeatable)"),
        click.option("--accessor", default="", help="token accessor as logged (HMAC unless hmac_accessor=false)"),
        click.option("--display-name", default="", help="display name glob, e.g. 'kubernetes-*'"),
        click.option("--namespace", default="", help="Kubernetes namespace of the service account"),
        click.option("--service-account", default="", help="Kubernetes service account name"),
        click.option("--errors", "errors_only", is_flag=True, help="only entries with an error (denials etc.)"),
        click.option("--error", "error_text", default="", help="only entries whose error contains this text"),
        click.option("--type", "types", multiple=True, type=click.Choice(["request", "response", "alert"]),
                     help="entry type (repeatable; default all)"),
        click.option("--since", default=None, help="RFC 3339 time, unix seconds, or a duration back (24h, 30m)"),
        click.option("--until", default=None, help="RFC 3339 time, unix seconds, or a duration back"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _filter(kw: dict[str, Any]) -> al.Filter:
    return al.Filter(paths=list(kw.pop("paths")), operations=list(kw.pop("operations")),
                     accessor=kw.pop("accessor"), display_name=kw.pop("display_name"),
                     namespace=kw.pop("namespace"), service_account=kw.pop("service_account"),
                     errors_only=kw.pop("errors_only"), error=kw.pop("error_text"), types=list(kw.pop("types")),
                     since=_when(kw.pop("since"), "--since"), until=_when(kw.pop("until"), "--until"))


@contextmanager
def _reading(files: tuple[str, ...], progress: bool | None, flt: al.Filter | None = None
             ) -> Iterator[tuple[Iterator[al.Line], al.ReadStats]]:
    """Lines of all files, with a byte-based progress bar on big inputs (stderr, only on a terminal)."""
    stats = al.ReadStats()
    size = al.total_size(files)
    show = progress if progress is not None else (err.is_terminal and size >= PROGRESS_MIN_BYTES)
    bar = Progress(TextColumn("reading"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err,
                   disable=not show, transient=True)
    with bar:
        task = bar.add_task("read", total=size or None)
        pending = [0]

        def advance(n: int) -> None:  # batched: a bar update per line would cost more than the parsing
            pending[0] += n
            if pending[0] >= 1 << 20:
                bar.advance(task, pending[0])
                pending[0] = 0

        try:
            keep = al.prefilter(flt) if flt is not None else None
            yield al.read(files, stats, on_bytes=advance if show else None, keep=keep), stats
        except al.AuditFileError as exc:
            raise click.ClickException(str(exc)) from None


def _report_malformed(stats: al.ReadStats, strict: bool) -> None:
    if not stats.malformed:
        return
    err.print(f"[yellow]skipped {stats.malformed} malformed line(s)[/yellow]", highlight=False)
    for ex in stats.malformed_examples:
        err.print(f"  {ex}", highlight=False, markup=False)
    if strict:
        sys.exit(1)


FILES = click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
STRICT = click.option("--strict", is_flag=True, help="exit 1 if any line is malformed")
PROGRESS = click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal, "
                        "for inputs over 4 MiB)")


@click.group(name="audit", context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tail, search, summarise, verify and export audit logs (files written by a file audit device).

    \b
    Examples:
      strongroom audit search /var/log/strongroom/audit.log --path 'secret/data/prod/*' --errors
      strongroom audit summarise audit.log --since 24h
      strongroom audit tail -f audit.log --namespace payments
      strongroom audit verify-hmac audit.log --salt-from-server file/ < value.txt
      strongroom audit export audit.log --to ocsf -o audit.ocsf.jsonl
    """


def _row(r: al.Record) -> list[str]:
    what = r.message if r.type == "alert" else r.error
    when = r.time[:19] + "Z" if len(r.time) > 20 else r.time  # to the second: the full value is in JSON output
    return [when, r.type, r.operation, r.path, r.identity, r.remote_address, what]


COLUMNS = ["time", "type", "op", "path", "identity", "remote", "error / alert"]


def _table(records: list[al.Record], title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for c in COLUMNS:
        t.add_column(c, overflow="fold")
    for r in records:
        style = "red" if r.error else ("magenta" if r.type == "alert" else None)
        t.add_row(*_row(r), style=style)
    return t


@cli.command("search")
@FILES
@filter_options
@click.option("--limit", type=int, default=0, help="stop after this many matches (0 = all)")
@FMT
@STRICT
@PROGRESS
def search(files: tuple[str, ...], limit: int, fmt: str, strict: bool, progress: bool | None, **kw: Any) -> None:
    """Find entries by path glob, operation, accessor, display name, namespace/SA, error and time range."""
    flt = _filter(kw)
    found: list[tuple[al.Line, al.Record]] = []
    with _reading(files, progress, flt) as (lines, stats):
        for line, r in al.select(lines, flt):
            found.append((line, r))
            if limit and len(found) >= limit:
                break
    if fmt == "json":
        _json({"matches": [{"file": ln.file, "line": ln.number, **r.as_dict()} for ln, r in found],
               "count": len(found), "malformed_lines": stats.malformed})
    else:
        out.print(_table([r for _, r in found], f"{len(found)} matching entries"))
    _report_malformed(stats, strict)


@cli.command("summarise")
@FILES
@filter_options
@click.option("--top", type=int, default=10, show_default=True, help="rows in the top-N tables")
@FMT
@STRICT
@PROGRESS
def summarise(files: tuple[str, ...], top: int, fmt: str, strict: bool, progress: bool | None,
              **kw: Any) -> None:
    """Who read what, top paths and identities, denials, and a per-hour histogram (from response entries)."""
    flt = _filter(kw)
    with _reading(files, progress, flt) as (lines, stats):
        s = al.summarise((r for _, r in al.select(lines, flt)), top=top)
    if fmt == "json":
        _json({**s.as_dict(), "malformed_lines": stats.malformed})
        _report_malformed(stats, strict)
        return
    out.print(f"{s.requests} requests ({s.denials} denied, {s.errors} other errors), {s.alerts} alerts, "
              f"{s.first or '-'} .. {s.last or '-'}")
    for title, cols, rows in (
        ("Top paths", ["path", "requests"], [(p, str(n)) for p, n in s.top_paths]),
        ("Top identities", ["identity", "requests"], [(i, str(n)) for i, n in s.top_identities]),
        ("Denials", ["identity", "path", "count"], [(i, p, str(n)) for i, p, n in s.denied]),
        ("Who read what", ["identity", "secrets read"], [(i, "\n".join(p)) for i, p in s.reads.items()]),
        ("Requests per hour", ["hour (UTC)", "requests", ""],
         [(h, str(n), "#" * max(1, round(40 * n / max(c for _, c in s.per_hour)))) for h, n in s.per_hour]),
    ):
        t = Table(title=title)
        for c in cols:
            t.add_column(c, overflow="fold")
        for row in rows:
            t.add_row(*row)
        out.print(t)
    _report_malformed(stats, strict)


cli.add_command(summarise, "summarize")


@cli.command("tail")
@click.argument("file", type=click.Path(dir_okay=False))
@filter_options
@click.option("-n", "--lines", "count", type=int, default=20, show_default=True, help="last N matching entries")
@click.option("-f", "--follow", is_flag=True, help="keep printing new entries (survives log rotation)")
@FMT
def tail(file: str, count: int, follow: bool, fmt: str, **kw: Any) -> None:
    """Print the last entries of an audit file, optionally following it. JSON output is one object per line."""
    from collections import deque

    flt = _filter(kw)
    stats = al.ReadStats()

    def show(line: al.Line, r: al.Record) -> None:
        if fmt == "json":
            click.echo(orjson.dumps({"file": line.file, "line": line.number, **r.as_dict()}).decode())
        else:
            style = "red" if r.error else ("magenta" if r.type == "alert" else "")
            out.print(" ".join(x or "-" for x in _row(r)), style=style or None, markup=False)

    try:
        last: deque[tuple[al.Line, al.Record]] = deque(al.select(al.read([file], stats), flt), maxlen=count)
        for line, r in last:
            show(line, r)
        if follow:
            for line, r in al.select(al.follow(file, stats), flt):
                show(line, r)
    except al.AuditFileError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass
    _report_malformed(stats, False)


def _read_value(value_file: str | None) -> str:
    """The plaintext to look for: from a file, stdin, or a hidden prompt. Never from argv (shell history)."""
    if value_file:
        with open(value_file, encoding="utf-8") as f:
            return f.read().rstrip("\n")
    if not sys.stdin.isatty():
        return sys.stdin.read().rstrip("\n")
    return str(click.prompt("Value to look for", hide_input=True))


def _server_hash(device: str, value: str) -> str:
    from strongroom.client import Client, ClientError

    try:
        with Client() as c:
            resp = c.write(f"sys/audit-hash/{device.strip('/')}", {"input": value})
    except ClientError as exc:
        raise click.ClickException(f"sys/audit-hash/{device.strip('/')} failed: {exc}") from None
    h = (resp or {}).get("hash") or ((resp or {}).get("data") or {}).get("hash")
    if not h:
        raise click.ClickException("the server returned no hash")
    return str(h)


@cli.command("verify-hmac")
@FILES
@click.option("--hash", "hashed", default="", help="the HMAC to look for (output of sys/audit-hash)")
@click.option("--salt-from-server", "device", default="",
              help="audit device path (e.g. file/): ask the server (VAULT_ADDR, VAULT_TOKEN) to HMAC the value")
@click.option("--value-file", type=click.Path(dir_okay=False, exists=True),
              help="read the plaintext from this file (default: stdin, or a hidden prompt)")
@FMT
@STRICT
@PROGRESS
def verify_hmac(files: tuple[str, ...], hashed: str, device: str, value_file: str | None, fmt: str, strict: bool,
                progress: bool | None) -> None:
    """Which entries contain a value's HMAC (e.g. "was this password ever read, and by whom?").

    Give the HMAC from `bao write sys/audit-hash/file input=...` with --hash, or let the server compute it with
    --salt-from-server DEVICE (the plaintext is read from --value-file, stdin or a hidden prompt, never argv).
    """
    if bool(hashed) == bool(device):
        raise click.UsageError("give exactly one of --hash HMAC or --salt-from-server DEVICE")
    if device:
        hashed = _server_hash(device, _read_value(value_file))
    if not hashed.startswith("hmac-sha256:"):
        hashed = "hmac-sha256:" + hashed
    found = []
    with _reading(files, progress) as (lines, stats):
        for line, where in al.hmac_matches(lines, hashed):
            found.append((line, al.record(line.entry), where))
    if fmt == "json":
        _json({"hash": hashed, "count": len(found), "malformed_lines": stats.malformed,
               "matches": [{"file": ln.file, "line": ln.number, "fields": w, **r.as_dict()} for ln, r, w in found]})
    else:
        t = Table(title=f"{len(found)} entries contain {hashed[:24]}...")
        for c in ("file:line", "time", "type", "op", "path", "identity", "field"):
            t.add_column(c, overflow="fold")
        for ln, r, w in found:
            t.add_row(f"{ln.file}:{ln.number}", r.time, r.type, r.operation, r.path, r.identity, ", ".join(w))
        out.print(t)
    _report_malformed(stats, strict)


@cli.command("export")
@FILES
@filter_options
@click.option("--to", "target", type=click.Choice(["jsonl", "cef", "ocsf"]), required=True,
              help="jsonl (entries as written), cef (ArcSight CEF lines), ocsf (OCSF API Activity, JSON Lines)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here instead of stdout")
@STRICT
@PROGRESS
def export(files: tuple[str, ...], target: str, output: str | None, strict: bool, progress: bool | None,
           **kw: Any) -> None:
    """Convert audit entries for a SIEM. Values stay HMAC'd exactly as the device wrote them."""
    flt = _filter(kw)
    sink = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115 - closed below
    n = 0
    try:
        with _reading(files, progress, flt) as (lines, stats):
            for line, r in al.select(lines, flt):
                if target == "jsonl":
                    sink.write(al.jsonl(line.entry))
                elif target == "cef":
                    sink.write(al.cef(r).encode() + b"\n")
                else:
                    sink.write(orjson.dumps(al.ocsf(r)) + b"\n")
                n += 1
    finally:
        if output:
            sink.close()
        else:
            sink.flush()
    if output:
        err.print(f"exported {n} entries to {output}", highlight=False)
    _report_malformed(stats, strict)
