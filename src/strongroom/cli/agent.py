"""`strongroom agent`: render secrets to files (init container / sidecar) or into a child's environment."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click
import yaml

from strongroom.agent.config import AgentConfig, ConfigError, TemplateConfig, from_dict, load
from strongroom.agent.runner import Agent, AgentError
from strongroom.agent.templates import parse_env_secret, whole_secret

CONFIG_ENV = "STRONGROOM_AGENT_CONFIG"  # the injector passes the config inline through this variable


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record), "level": record.levelname.lower(),
                           "logger": record.name, "msg": record.getMessage()})


def _setup_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("strongroom")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False),
                     help=f"YAML/JSON or HCL config file (or set {CONFIG_ENV} to the config text)."),
        click.option("--address", envvar=["STRONGROOM_ADDR", "VAULT_ADDR"], help="Store address."),
        click.option("--ca-cert", type=click.Path(dir_okay=False), help="PEM CA bundle for the store's TLS."),
        click.option("--tls-skip-verify", is_flag=True, default=None, help="Do not verify the store's TLS cert."),
        click.option("--auth-method", type=click.Choice(["kubernetes", "approle", "token"])),
        click.option("--auth-mount", help="Auth mount path (default: the method name)."),
        click.option("--role", help="Kubernetes auth role."),
        click.option("--jwt-path", help="Service-account token file (default: the projected token)."),
        click.option("--role-id-file", type=click.Path(dir_okay=False)),
        click.option("--secret-id-file", type=click.Path(dir_okay=False)),
        click.option("--token-file", type=click.Path(dir_okay=False), help="Use this token (not revoked on exit)."),
        click.option("--template", "templates", multiple=True, metavar="DEST=SRC[:MODE]",
                     help="Render template file SRC to DEST (mode octal, default 0600). Repeatable."),
        click.option("--secret", "secrets", multiple=True, metavar="DEST=PATH[:MODE]",
                     help="Write the secret at PATH as JSON to DEST. Repeatable."),
        click.option("--poll-interval", type=float, help="Seconds between re-reads of static secrets."),
        click.option("--notifications/--no-notifications", default=None,
                     help="Long-poll the store's change notifications (default: on; polling stays as fallback)."),
        click.option("--cache-dir", type=click.Path(file_okay=False),
                     help="Keep the last values here (use the in-memory volume) to survive store outages."),
        click.option("--once", is_flag=True, default=None, help="Render once and exit (init containers)."),
        click.option("--revoke-on-exit/--no-revoke-on-exit", default=None,
                     help="Revoke the token and leases on exit (default: yes unless --once)."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
                     show_default=True),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _dest_spec(spec: str, flag: str) -> tuple[str, str, int]:
    dest, sep, rest = spec.partition("=")
    if not (sep and dest and rest):
        raise click.BadParameter(f"expected DEST=VALUE[:MODE], got {spec!r}", param_hint=flag)
    value, mode = rest, 0o600
    head, msep, tail = rest.rpartition(":")
    if msep and tail.isdigit() and head:
        value, mode = head, int(tail, 8)
    return dest, value, mode


def _build_config(kw: dict[str, Any]) -> AgentConfig:
    if kw["config_path"]:
        cfg = load(kw["config_path"])
    elif os.environ.get(CONFIG_ENV):
        raw = yaml.safe_load(os.environ[CONFIG_ENV])
        if not isinstance(raw, dict):
            raise ConfigError(f"{CONFIG_ENV} must hold a YAML/JSON mapping")
        cfg = from_dict(raw)
    else:
        cfg = AgentConfig()
    for flag in ("address", "ca_cert", "poll_interval", "cache_dir", "revoke_on_exit", "notifications"):
        if kw.get(flag) is not None:
            setattr(cfg, flag, kw[flag])
    for flag in ("tls_skip_verify", "once"):  # flags only switch on
        if kw.get(flag):
            setattr(cfg, flag, True)
    a = cfg.auth
    for flag, attr in (("auth_method", "method"), ("auth_mount", "mount"), ("role", "role"),
                       ("jwt_path", "jwt_path"), ("role_id_file", "role_id_file"),
                       ("secret_id_file", "secret_id_file"), ("token_file", "token_file")):
        if kw.get(flag):
            setattr(a, attr, kw[flag])
    if kw.get("token_file") and not kw.get("auth_method"):
        a.method = "token"
    for spec in kw.get("templates") or ():
        dest, src, mode = _dest_spec(spec, "--template")
        cfg.templates.append(TemplateConfig(destination=dest, source=src, perms=mode))
    for spec in kw.get("secrets") or ():
        dest, path, mode = _dest_spec(spec, "--secret")
        cfg.templates.append(TemplateConfig(destination=dest, contents=whole_secret(path), perms=mode))
    return cfg


def _run(cfg: AgentConfig) -> tuple[int, Agent]:
    try:
        agent = Agent(cfg)
    except (ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    except AgentError as exc:
        raise click.ClickException(str(exc)) from None
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    signal.signal(signal.SIGHUP, lambda *_: agent.wake())
    try:
        return agent.run(), agent
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@click.group(name="agent", context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Render secrets for a workload: files on a tmpfs volume, or a child's environment.

    Authenticates with Kubernetes auth (the pod's service-account token), AppRole or a token; keeps the token
    and leases renewed; re-renders when secrets change; revokes its token and leases on exit.
    """


@cli.command(name="run")
@_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Print a summary on exit (json: machine-readable).")
def run_cmd(fmt: str, log_format: str, log_level: str, **kw: Any) -> None:
    """Render templates to files; with --once exit after the first render (init containers), otherwise keep
    them current (sidecars). SIGHUP re-renders now; SIGTERM revokes and exits."""
    _setup_logging(log_format, log_level)
    try:
        cfg = _build_config(kw)
        cfg.validate()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not cfg.templates:
        raise click.ClickException("nothing to render: give --template/--secret or templates in the config")
    code, agent = _run(cfg)
    if fmt == "json":
        click.echo(json.dumps({"exit_code": code, **agent.status.as_dict()}, sort_keys=True))
    else:
        for dest in agent.status.rendered:
            click.echo(f"rendered {dest}")
        for err in agent.status.errors:
            click.echo(f"error: {err}", err=True)
    sys.exit(code)


@cli.command(name="exec", context_settings={"ignore_unknown_options": False})
@_options
@click.option("--env", "env_templates", multiple=True, metavar="NAME=TEMPLATE",
              help="Set NAME in the child's environment to the rendered TEMPLATE. Repeatable.")
@click.option("--env-secret", "env_secrets", multiple=True, metavar="NAME=PATH#KEY",
              help="Set NAME to KEY of the secret at PATH (KV v2 unwrapped). Repeatable.")
@click.option("--signal-on-change", help="Signal the child (e.g. SIGHUP) when files change instead of restarting.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(log_format: str, log_level: str, env_templates: tuple[str, ...], env_secrets: tuple[str, ...],
             signal_on_change: str | None, command: tuple[str, ...], **kw: Any) -> None:
    """Run COMMAND (after `--`) with secrets in its environment; restart it when they change. Exits with the
    child's exit code."""
    _setup_logging(log_format, log_level)
    try:
        cfg = _build_config(kw)
        for spec in env_templates:
            name, sep, tpl = spec.partition("=")
            if not (sep and name):
                raise ConfigError("--env expects NAME=TEMPLATE")
            cfg.exec.env[name] = tpl
        for spec in env_secrets:
            try:
                name, tpl = parse_env_secret(spec)
            except ValueError as exc:
                raise ConfigError(f"--env-secret: {exc}") from None
            cfg.exec.env[name] = tpl
        cfg.exec.command = list(command)
        if signal_on_change:
            cfg.exec.signal_on_change = signal_on_change
            cfg.exec.restart_on_change = bool(cfg.exec.env)
        cfg.validate()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    code, _ = _run(cfg)
    sys.exit(code)


@cli.command(name="validate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate_cmd(config_path: str, fmt: str) -> None:
    """Check a config file and parse its templates, without contacting the store."""
    from strongroom.templating import Template, TemplateError

    problems: list[str] = []
    cfg: AgentConfig | None = None
    try:
        cfg = load(config_path)
        cfg.validate()
        for t in cfg.templates:
            Template(t.text(), name=t.destination, funcs={"secret": lambda p: {}})
        for name, tpl in cfg.exec.env.items():
            Template(tpl, name=f"env {name}", funcs={"secret": lambda p: {}})
    except (ConfigError, TemplateError, OSError) as exc:
        problems.append(str(exc))
    if fmt == "json":
        click.echo(json.dumps({"valid": not problems, "errors": problems,
                               "templates": [t.destination for t in cfg.templates] if cfg else []}))
    else:
        click.echo("\n".join(f"error: {p}" for p in problems) or "config is valid")
    sys.exit(1 if problems else 0)
