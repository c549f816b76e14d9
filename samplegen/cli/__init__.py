"""The ``samplegen`` command line: exit 0 ok, 2 bad input (one line, no traceback), 1 internal."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from samplegen.errors import UsageError

app = typer.Typer(
    name="samplegen",
    help="Synthetic positive samples for sparse and cold-start CVR data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)


def _register() -> None:
    from samplegen.cli import align, data, demo, generate, report, validate

    for module in (data, generate, validate, report, align, demo):
        module.register(app)


_register()


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr "
                                     "(bars in a terminal, a line every 5 s elsewhere).")
          ) -> None:
    from samplegen.cache import redirect_library_caches
    from samplegen.logs import setup_cli_logging
    from samplegen.progress import set_quiet

    redirect_library_caches()
    set_quiet(True if quiet else None)
    setup_cli_logging(verbose=verbose)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except UsageError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted; rerun with --resume to continue", highlight=False)
        return 130
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except Exception as e:  # click usage errors (typer may vendor its own click) exit 2
        if _is_click(e, "ClickException"):
            e.show()  # type: ignore[attr-defined]
            return 2
        if _is_click(e, "Exit"):
            return int(getattr(e, "exit_code", 0) or 0)
        err_console.print_exception()
        err_console.print(f"[bold red]internal error:[/] {type(e).__name__}: {e}")
        return 1
    return 0


def _is_click(e: BaseException, name: str) -> bool:
    """True when ``e`` is click's (or typer's vendored click's) exception class ``name``."""
    return any(k.__name__ == name and "click" in k.__module__ for k in type(e).__mro__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
