"""`strongroom audit` (not built yet)."""

import click


@click.command(name="audit", context_settings={"ignore_unknown_options": True})
def cli() -> None:
    """Not built yet."""
    raise click.ClickException("strongroom audit is not built yet")
