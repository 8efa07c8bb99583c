"""The `strongroom` command. Subcommands load lazily so `strongroom --help` and short commands start fast.

Each subcommand lives in its own module of this package and exposes a click command named `cli`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from strongroom import __version__

# command name -> module in strongroom.cli (each exposes `cli`)
COMMANDS: dict[str, tuple[str, str]] = {
    "server": ("server", "Run the Vault-API-compatible secret store."),
    "seal": ("seal", "Seal Kubernetes Secrets into kubeseal-compatible SealedSecrets."),
    "operator": ("operator", "Run the Kubernetes controllers (SealedSecret, ExternalSecret, reloader)."),
    "scan": ("scan", "Find leaked credentials in files, manifests and git history."),
    "lint": ("lint", "Lint RBAC and manifests: who can read which Secret, and what leaks them."),
    "atrest": ("atrest", "Encryption at rest: EncryptionConfiguration, key rotation, etcd audit, DR decrypt."),
    "kms-plugin": ("kms_plugin", "Run the Kubernetes KMS v2 plugin on a unix socket."),
    "audit": ("audit", "Tail, search, summarise and export audit logs."),
    "agent": ("agent", "Render secrets to files or a child's environment, for init containers and sidecars."),
    "injector": ("injector", "Admission webhook that injects the agent into annotated pods."),
    "csi-provider": ("csi_provider", "Secrets Store CSI Driver provider (gRPC on a unix socket)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"strongroom.cli.{entry[0]}")
        command: click.Command = module.cli
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="strongroom")
def cli() -> None:
    """Strongroom: Kubernetes secrets, end to end."""


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="strongroom")
