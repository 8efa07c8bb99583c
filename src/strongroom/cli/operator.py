"""`strongroom operator` (not built yet)."""

import click


@click.command(name="operator", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom operator is not built yet")
