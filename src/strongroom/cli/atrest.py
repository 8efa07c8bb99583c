"""`strongroom atrest` (not built yet)."""

import click


@click.command(name="atrest", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom atrest is not built yet")
