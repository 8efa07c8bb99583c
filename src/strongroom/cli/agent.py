"""`strongroom agent` (not built yet)."""

import click


@click.command(name="agent", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom agent is not built yet")
