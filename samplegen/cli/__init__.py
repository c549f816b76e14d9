"""The ``samplegen`` command line. :func:`main` is the one place that maps outcomes to exit codes:

====  =====================================================================================
0     complete
1     internal error (a bug): one line naming the log file that holds the traceback
2     bad input or usage (:class:`~samplegen.errors.UsageError`, an unwritable path, a click
      usage error): one line with the fix, no traceback
3     incomplete (:class:`~samplegen.errors.IncompleteError`): a short run, or an empty or
      unfinished set given to ``validate``/``report``
130   SIGINT (Ctrl-C); 143 SIGTERM: one line with the command that resumes the run
====  =====================================================================================
"""

from __future__ import annotations

import errno
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from samplegen.errors import IncompleteError, Interrupted, UsageError

__all__ = ["app", "main", "note_resume", "EXIT_OK", "EXIT_INTERNAL", "EXIT_USAGE",
           "EXIT_INCOMPLETE"]

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
#: errno values of OSErrors the user fixes (a path they named): exit 2, not 1
_USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                   errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG}

app = typer.Typer(
    name="samplegen",
    help="Synthetic positive samples for sparse and cold-start CVR data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)

# What the running command said about itself: the command that resumes it, the signal seen.
_STATE: dict[str, Any] = {}


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


def note_resume(where: str, flags: list[str]) -> None:
    """Say that this command writes the resumable run ``where``; the command that continues it
    is the one typed followed by ``flags`` (e.g. ``["--resume"]``)."""
    _STATE["resume"] = "samplegen " + shlex.join([*_STATE.get("argv", []), *flags])
    _STATE["where"] = where


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (see the module docstring)."""
    args = list(sys.argv[1:] if argv is None else argv)
    _STATE.clear()
    _STATE["argv"] = args
    _STATE["resume"] = "samplegen " + shlex.join(args)
    with _signals():
        try:
            rv = app(args=args, standalone_mode=False)
        except BaseException as e:  # noqa: BLE001 - every outcome is mapped here
            return _outcome(e)
    code = rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
    if code == 130:  # typer turns a KeyboardInterrupt into a returned 130
        return _interrupted(_STATE.get("signal", signal.SIGINT))
    return code


def _outcome(e: BaseException) -> int:
    if isinstance(e, KeyboardInterrupt):
        return _interrupted(getattr(e, "signum", _STATE.get("signal", signal.SIGINT)))
    if isinstance(e, IncompleteError):
        _say(f"[bold yellow]incomplete:[/] {e}")
        return EXIT_INCOMPLETE
    if isinstance(e, UsageError):
        _say(f"[bold red]error:[/] {e}")
        return EXIT_USAGE
    if isinstance(e, typer.Exit) or _is_click(e, "Exit"):
        return int(getattr(e, "exit_code", 0) or 0)
    if isinstance(e, typer.Abort) or _is_click(e, "Abort"):
        return _interrupted(signal.SIGINT)
    if _is_click(e, "ClickException"):  # usage errors (typer may vendor its own click)
        e.show()  # type: ignore[attr-defined]
        return EXIT_USAGE
    if isinstance(e, OSError) and e.errno in _USER_OS_ERRORS and e.filename:
        _say(f"[bold red]error:[/] cannot write or read {str(e.filename)!r}: {e.strerror}. "
             "Fix: pass a path you can write (e.g. --out under your home or working folder) "
             "or free space there.")
        return EXIT_USAGE
    if isinstance(e, SystemExit):
        return int(e.code) if isinstance(e.code, int) else EXIT_INTERNAL
    log = _write_log(e)
    _say(f"[bold red]internal error:[/] {type(e).__name__}: {e}. This is a samplegen bug; "
         f"the traceback is in {log} (please attach it to a report).")
    return EXIT_INTERNAL


def _interrupted(signum: int) -> int:
    name = signal.Signals(signum).name
    where = _STATE.get("where")
    if where:
        msg = (f"interrupted by {name}; {where} is resumable (finished chunks are kept). "
               f"Resume with: {_STATE['resume']}")
    else:
        msg = f"interrupted by {name}; nothing was saved. Rerun with: {_STATE['resume']}"
    _say(f"[bold yellow]{msg}[/]")
    return 128 + int(signum)


def _say(text: str) -> None:
    err_console.print(text, highlight=False, soft_wrap=True)


def _write_log(e: BaseException) -> str:
    """Write the traceback of ``e`` to a log file; return its path."""
    import os
    import tempfile
    import time
    import traceback
    from pathlib import Path

    text = "".join(traceback.format_exception(e))
    name = f"samplegen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        from samplegen.cache import cache_dir

        path = cache_dir("logs") / name
        path.write_text(f"samplegen {shlex.join(sys.argv)}\n{text}")
    except OSError:
        path = Path(tempfile.gettempdir()) / name
        path.write_text(text)
    return str(path)


@contextmanager
def _signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (a KeyboardInterrupt) while a command runs."""
    def handler(signum: int, _frame: Any) -> None:
        _STATE["signal"] = signum
        raise Interrupted(signum)

    old: dict[int, Any] = {}
    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            old[s] = signal.signal(s, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _is_click(e: BaseException, name: str) -> bool:
    """True when ``e`` is click's (or typer's vendored click's) exception class ``name``."""
    return any(k.__name__ == name and "click" in k.__module__ for k in type(e).__mro__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
