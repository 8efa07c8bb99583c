"""`strongroom lint` (not built yet)."""

import click


@click.command(name="lint", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom lint is not built yet")
