"""`strongroom seal` (not built yet)."""

import click


@click.command(name="seal", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom seal is not built yet")
