"""`samplegen data list|describe` (placeholder; filled by the foundation issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Inspect built-in and user datasets.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command("list")
    def _list() -> None:
        """List the built-in datasets and the supported formats."""
        typer.echo("travel-sim")
