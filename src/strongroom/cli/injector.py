"""`strongroom injector`: the mutating admission webhook that adds the agent to annotated pods."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from strongroom.injector.mutate import InjectError, InjectorConfig, patch_for


def _cfg(kw: dict[str, Any]) -> InjectorConfig:
    return InjectorConfig(agent_image=kw["agent_image"], store_address=kw["store_address"],
                          auth_mount=kw["auth_mount"], ca_configmap=kw["agent_ca_configmap"] or "",
                          poll_interval=kw["poll_interval"], audience=kw["audience"] or "")


def _common(f: Any) -> Any:
    for opt in reversed([
        click.option("--agent-image", envvar="STRONGROOM_AGENT_IMAGE", default=InjectorConfig.agent_image,
                     show_default=True, help="Image of the injected agent containers."),
        click.option("--store-address", envvar="STRONGROOM_ADDR", default=InjectorConfig.store_address,
                     show_default=True, help="Store address the agents use."),
        click.option("--auth-mount", default="kubernetes", show_default=True,
                     help="Default Kubernetes auth mount (annotation strongroom.io/auth-path overrides)."),
        click.option("--agent-ca-configmap", help="ConfigMap (key ca.crt, in each pod's namespace) holding the "
                     "store's CA bundle; projected next to the agent's token."),
        click.option("--audience", help="Audience of the agents' projected service-account tokens."),
        click.option("--poll-interval", type=float, default=60.0, show_default=True,
                     help="Agents re-read static secrets this often (seconds)."),
    ]):
        f = opt(f)
    return f


@click.group(name="injector", context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Mutating admission webhook: inject the Strongroom agent into pods annotated strongroom.io/agent-inject."""


@cli.command(name="serve")
@_common
@click.option("--listen", default="0.0.0.0:8443", show_default=True, help="HOST:PORT to serve HTTPS on.")
@click.option("--tls-cert", required=True, type=click.Path(exists=True, dir_okay=False), help="PEM certificate.")
@click.option("--tls-key", required=True, type=click.Path(exists=True, dir_okay=False), help="PEM private key.")
@click.option("--fail-open/--fail-closed", default=True, show_default=True,
              help="On an internal error admit the pod unchanged (open) or deny it (closed). Match the webhook's "
                   "failurePolicy (Ignore / Fail).")
def serve_cmd(listen: str, tls_cert: str, tls_key: str, fail_open: bool, **kw: Any) -> None:
    """Serve the webhook (POST /mutate, GET /healthz) over TLS."""
    from strongroom.injector.app import serve

    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise click.BadParameter("expected HOST:PORT", param_hint="--listen")
    serve(_cfg(kw), host=host or "0.0.0.0", port=int(port), cert_file=tls_cert, key_file=tls_key,  # noqa: S104
          fail_open=fail_open)


@cli.command(name="patch")
@_common
@click.argument("pod_file", type=click.File("r"))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def patch_cmd(pod_file: Any, fmt: str, **kw: Any) -> None:
    """Preview the JSON patch the webhook would apply to the pod in POD_FILE (YAML or JSON; - for stdin)."""
    try:
        pod = yaml.safe_load(pod_file)
    except yaml.YAMLError as exc:
        raise click.ClickException(f"cannot parse {pod_file.name}: {type(exc).__name__}") from None
    if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
        raise click.ClickException(f"{pod_file.name} is not a Pod")
    try:
        ops = patch_for(pod, _cfg(kw))
    except InjectError as exc:
        raise click.ClickException(f"the webhook would deny this pod: {exc}") from None
    if fmt == "json":
        click.echo(json.dumps(ops, indent=2))
    elif not ops:
        click.echo("no injection (the pod does not carry strongroom.io/agent-inject: \"true\")")
    else:
        for op in ops:
            value = op["value"]
            what = value.get("name", "") if isinstance(value, dict) else ""
            click.echo(f"{op['op']} {op['path']} {what}".rstrip())
    sys.exit(0)
