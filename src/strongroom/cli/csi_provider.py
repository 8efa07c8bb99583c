"""`strongroom csi-provider`: the Secrets Store CSI Driver provider (gRPC on a unix socket)."""

from __future__ import annotations

import logging
import sys

import click


@click.command(name="csi-provider", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--endpoint", default="/provider/strongroom.sock", show_default=True,
              help="Unix socket to serve on; the driver dials <providers dir>/strongroom.sock.")
@click.option("--workers", type=int, default=8, show_default=True, help="Concurrent Mount calls.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def cli(endpoint: str, workers: int, log_level: str) -> None:
    """Serve `v1alpha1.CSIDriverProvider` so SecretProviderClasses with `provider: strongroom` mount secrets.

    Parameters: roleName, strongroomAddress, objects (objectName, secretPath, secretKey, filePermission,
    encoding); optional strongroomAuthMountPath, strongroomCACertPath, audience. Vault provider names work too.
    """
    from strongroom.csi.server import ProviderServer

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("strongroom").handlers[:] = [handler]
    logging.getLogger("strongroom").setLevel(log_level.upper())
    try:
        ProviderServer(endpoint, workers).serve_forever()
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
