"""`strongroom lint`: RBAC and manifest linter. Thin: parse, call strongroom.rbaclint, render.

`strongroom lint PATHS...` runs the default `check` subcommand; `who-can`, `unused` and `rules` are siblings.
Exit codes: 0 no finding at/above --fail-on, 1 findings, 2 input or usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

if TYPE_CHECKING:
    from strongroom.rbaclint.loader import LoadResult

EXIT_FINDINGS = 1
EXIT_ERROR = 2
_SEVERITIES = ["info", "low", "medium", "high", "critical"]


class _DefaultGroup(click.Group):
    """Anything that is not a subcommand name goes to `check`, so `strongroom lint deploy/` works."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--cluster", is_flag=True, help="Read the live cluster (list calls only) via kubeconfig."),
        click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: env)."),
        click.option("--context", "kube_context", help="Kubeconfig context to use."),
        click.option("--server", help="API server URL without auth (e.g. `kubectl proxy`); implies --cluster."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


class _Inputs:
    def __init__(
        self,
        paths: tuple[str, ...],
        cluster: bool,
        kubeconfig: str | None,
        kube_context: str | None,
        server: str | None,
    ) -> None:
        self.paths, self.cluster, self.kubeconfig = paths, cluster or server is not None, kubeconfig
        self.context, self.server = kube_context, server

    def load(self, err: Console) -> LoadResult:
        from strongroom.rbaclint.loader import LoadResult, load_paths

        if not self.paths and not self.cluster:
            raise click.UsageError("give PATHS (files, directories or - for stdin) or --cluster")
        result = load_paths(self.paths) if self.paths else LoadResult()
        if self.cluster:
            from strongroom.rbaclint.cluster import ClusterError, load_cluster

            with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
                task = bar.add_task("reading cluster", total=None)
                try:
                    result.extend(
                        load_cluster(
                            self.kubeconfig,
                            self.context,
                            server=self.server,
                            progress=lambda kind: bar.update(task, description=f"list {kind}"),
                        )
                    )
                except ClusterError as exc:
                    err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
                    sys.exit(EXIT_ERROR)
        return result


def _fmt_option(*choices: str) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="human",
        show_default=True,
        help="Output format.",
    )


def _fail(message: str) -> None:
    Console(stderr=True).print(f"[red]error[/red] {escape(message)}", highlight=False)
    sys.exit(EXIT_ERROR)


def _write(data: bytes, output: str | None) -> None:
    if output:
        try:
            with open(output, "wb") as fh:
                fh.write(data + b"\n")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror}")
    else:
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()


@click.group(name="lint", cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Lint RBAC and manifests: who can read which Secret, and what leaks them.

    \b
    strongroom lint deploy/ k8s.yaml           lint files and directories (default: check)
    helm template . | strongroom lint -        lint rendered output from stdin
    strongroom lint --cluster                  lint the live cluster (read-only)
    strongroom lint who-can read secret/db -n shop deploy/
    strongroom lint unused deploy/
    """


@cli.command("check")
@click.argument("paths", nargs=-1)
@_input_options
@_fmt_option("human", "json", "sarif")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the report here.")
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES),
    default="high",
    show_default=True,
    help="Exit 1 when a finding at or above this severity remains.",
)
@click.option("--only", multiple=True, metavar="RULE", help="Run only these rules (repeatable).")
@click.option("--skip", multiple=True, metavar="RULE", help="Skip these rules (repeatable).")
@click.option("--show-suppressed", is_flag=True, help="Also list suppressed findings (human format).")
def check(
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    server: str | None,
    fmt: str,
    output: str | None,
    fail_on: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    show_suppressed: bool,
) -> None:
    """Lint PATHS (YAML/JSON files, directories, `-` for stdin) and/or the live cluster.

    Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 input or usage error.
    Suppress a finding on its object with the annotation
    strongroom.io/lint-ignore: "<rule-id>: <reason>" (the reason is required).
    `strongroom lint rules` lists the rule ids; docs/lint.md explains each.
    """
    from strongroom.rbaclint.base import Severity
    from strongroom.rbaclint.engine import lint, select_checks
    from strongroom.rbaclint.report import render_human, to_json, to_sarif

    err = Console(stderr=True)
    try:
        checks = select_checks(only, skip)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    loaded = _Inputs(paths, cluster, kubeconfig, kube_context, server).load(err)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("checking", total=len(checks))
        report = lint(loaded.objects, checks, loaded.errors, progress=lambda _c: bar.advance(task))
    if fmt == "json":
        _write(to_json(report), output)
    elif fmt == "sarif":
        _write(to_sarif(report), output)
    else:
        if output:
            try:
                with open(output, "w", encoding="utf-8") as fh:
                    render_human(report, Console(file=fh, width=200), show_suppressed)
            except OSError as exc:
                _fail(f"cannot write {output}: {exc.strerror}")
        else:
            render_human(report, Console(), show_suppressed)
    if report.errors:
        if fmt != "human":
            for e in report.errors:
                err.print(f"[red]error[/red] {escape(str(e))}", highlight=False)
        sys.exit(EXIT_ERROR)
    if report.at_least(Severity.parse(fail_on)):
        sys.exit(EXIT_FINDINGS)


@cli.command("who-can")
@click.argument("verb")
@click.argument("target")
@click.argument("paths", nargs=-1)
@click.option("--namespace", "-n", required=True, help="Namespace of the Secret.")
@_input_options
@_fmt_option("human", "json")
def who_can(
    verb: str,
    target: str,
    paths: tuple[str, ...],
    namespace: str,
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    server: str | None,
    fmt: str,
) -> None:
    """List every subject that can VERB (read, get, list, watch) TARGET (secret/NAME) and through which path.

    `read` includes indirect paths: creating workloads, exec/attach, token minting, impersonation,
    escalate/bind and nodes/proxy.
    """
    from strongroom.rbaclint.model import RbacModel
    from strongroom.rbaclint.whocan import parse_target
    from strongroom.rbaclint.whocan import who_can as run

    try:
        _, name = parse_target(target)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    err = Console(stderr=True)
    loaded = _Inputs(paths, cluster, kubeconfig, kube_context, server).load(err)
    for e in loaded.errors:
        err.print(f"[red]error[/red] {escape(str(e))}", highlight=False)
    accesses = run(RbacModel(loaded.objects), verb.lower(), name, namespace)
    if fmt == "json":
        _write(
            orjson.dumps(
                {
                    "verb": verb,
                    "secret": name,
                    "namespace": namespace,
                    "subjects": [a.to_dict() for a in accesses],
                },
                option=orjson.OPT_INDENT_2,
            ),
            None,
        )
    else:
        table = Table(title=f"who can {verb} secret/{name or '*'} in {namespace}")
        for col in ("Subject", "Access", "How", "Binding", "Role", "Scope"):
            table.add_column(col, overflow="fold")
        for a in accesses:
            table.add_row(*(escape(x) for x in (a.subject, a.kind, a.how, a.binding, a.role, a.scope)))
        Console().print(table)
    if loaded.errors:
        sys.exit(EXIT_ERROR)


@cli.command("unused")
@click.argument("paths", nargs=-1)
@_input_options
@_fmt_option("human", "json")
def unused(
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    server: str | None,
    fmt: str,
) -> None:
    """List roles, bindings and Secrets that nothing in the input refers to."""
    from strongroom.rbaclint.base import Context
    from strongroom.rbaclint.unused import find_unused

    err = Console(stderr=True)
    loaded = _Inputs(paths, cluster, kubeconfig, kube_context, server).load(err)
    for e in loaded.errors:
        err.print(f"[red]error[/red] {escape(str(e))}", highlight=False)
    items = find_unused(Context(loaded.objects))
    if fmt == "json":
        _write(orjson.dumps({"unused": [u.to_dict() for u in items]}, option=orjson.OPT_INDENT_2), None)
    else:
        table = Table(title="unused objects")
        for col in ("Object", "Why", "Where"):
            table.add_column(col, overflow="fold")
        for u in items:
            table.add_row(escape(u.obj.ref), escape(u.reason), escape(u.obj.where))
        Console().print(table)
    if loaded.errors:
        sys.exit(EXIT_ERROR)


@cli.command("rules")
@_fmt_option("human", "json")
def rules(fmt: str) -> None:
    """List every rule with its id, severity and fix hint."""
    from strongroom.rbaclint.checks import CHECKS

    if fmt == "json":
        _write(
            orjson.dumps(
                [
                    {
                        "id": c.id,
                        "title": c.title,
                        "severity": str(c.severity),
                        "category": c.category,
                        "hint": c.hint,
                    }
                    for c in CHECKS
                ],
                option=orjson.OPT_INDENT_2,
            ),
            None,
        )
        return
    table = Table()
    for col in ("Rule", "Severity", "Category", "Title", "Fix"):
        table.add_column(col, overflow="fold")
    for c in CHECKS:
        table.add_row(c.id, str(c.severity), c.category, escape(c.title), escape(c.hint))
    Console().print(table)
