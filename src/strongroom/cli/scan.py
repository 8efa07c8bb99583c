"""`strongroom scan` (not built yet)."""

import click


@click.command(name="scan", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom scan is not built yet")
