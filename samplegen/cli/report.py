"""`samplegen report` (placeholder until its issue lands)."""

from __future__ import annotations

import typer

from samplegen.errors import UsageError


def register(app: typer.Typer) -> None:
    @app.command("report", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def _cmd(ctx: typer.Context) -> None:
        """Not implemented yet."""
        raise UsageError("'samplegen report' is not implemented yet in this version.")
