"""`strongroom kms-plugin` (not built yet)."""

import click


@click.command(name="kms-plugin", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom kms-plugin is not built yet")
