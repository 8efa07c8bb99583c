"""`strongroom server`: accepts Vault's single-dash flags (-dev, -config=FILE, -dev-root-token-id=...) so
existing scripts work, as well as the --double-dash forms.
"""

from __future__ import annotations

import asyncio
import re
import sys

import click

_VAULT_FLAG = re.compile(r"^-([a-z][a-z0-9-]+)(=.*)?$")


def _normalise(args: list[str]) -> list[str]:
    return [f"-{a}" if _VAULT_FLAG.match(a) and not a.startswith("--") and len(a) > 2 else a for a in args]


class VaultStyleCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _normalise(args))


@click.command(cls=VaultStyleCommand, context_settings={"help_option_names": ["-h", "--help", "-help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Server config file (HCL or JSON).")
@click.option("--dev", is_flag=True, help="Dev mode: SQLite in a temp dir, initialised, unsealed, secret/ mounted.")
@click.option("--dev-root-token-id", default="", help="Root token value in dev mode (default: random).")
@click.option("--dev-listen-address", default="127.0.0.1:8200", show_default=True, help="Dev mode listen address.")
@click.option("--dev-data-dir", default="", help="Keep dev data here (and reuse it on restart).")
@click.option("--dev-no-store-token", is_flag=True, help="Accepted for Vault compatibility; ignored.")
@click.option("--log-level", default=None, help="trace|debug|info|warn|error (overrides the config file).")
@click.option("--log-format", default=None, help="standard|json (overrides the config file).")
def cli(config_path: str | None, dev: bool, dev_root_token_id: str, dev_listen_address: str, dev_data_dir: str,
        dev_no_store_token: bool, log_level: str | None, log_format: str | None) -> None:
    """Run the Vault-API-compatible secret store.

    \b
    Examples:
      strongroom server -dev -dev-root-token-id=root
      strongroom server -config=/etc/strongroom/server.hcl
    """
    from strongroom.server.config import ConfigError, load
    from strongroom.server.run import DevOptions, dev_config, serve

    if dev == bool(config_path):
        raise click.UsageError("give exactly one of -dev or -config=FILE")
    try:
        if dev:
            opts = DevOptions(dev_root_token_id, dev_listen_address, dev_data_dir, dev_no_store_token)
            cfg = dev_config(opts)
        else:
            opts = None
            cfg = load(str(config_path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if log_level:
        cfg.log_level = log_level
    if log_format:
        cfg.log_format = log_format
    try:
        asyncio.run(serve(cfg, dev=opts))
    except KeyboardInterrupt:
        sys.exit(0)
