"""Where the command line's log records go.

* stderr: samplegen's own warnings and errors (``--verbose``: its debug messages too);
  a third-party record reaches stderr only at ERROR.
* the log file ``$SAMPLEGEN_CACHE_DIR/logs/samplegen.log`` (created on the first
  record, rotated at 5 MB; ``SAMPLEGEN_LOG_FILE`` names another file, empty for none):
  samplegen's INFO and up, every library's warnings (transformers, SDV, numpy) and
  Python warnings -- the notices a user cannot act on.

The library itself only logs through ``logging.getLogger(__name__)``; this module is
called by the CLI (and by anyone who wants the same routing).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

__all__ = ["OWN_LOGGERS", "log_file", "route_library_logger", "setup_cli_logging"]

#: logger name prefixes whose warnings a user can act on
OWN_LOGGERS = ("samplegen", "downstream", "evaluators", "prompts")
_FORMAT = "%(levelname)s %(name)s: %(message)s"
_MARK = "_samplegen_cli_handler"


def log_file() -> Path | None:
    """The CLI's log file (its folder is made when the first record is written)."""
    named = os.environ.get("SAMPLEGEN_LOG_FILE")
    if named is not None:
        return Path(named).expanduser() if named.strip() else None
    root = os.environ.get("SAMPLEGEN_CACHE_DIR") or str(Path.home() / ".cache" / "samplegen")
    return Path(root).expanduser() / "logs" / "samplegen.log"


class _OwnOr(logging.Filter):
    """Our records at the handler's level; a library's from ``level`` up."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith(OWN_LOGGERS) or record.levelno >= self.level


class _LazyRotatingFile(logging.handlers.RotatingFileHandler):
    def _open(self):  # noqa: ANN202 - the folder appears with the first record
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def setup_cli_logging(*, verbose: bool = False) -> None:
    """Install the two handlers on the root logger (idempotent: replaces earlier ones)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False):
            root.removeHandler(h)
            h.close()
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.addFilter(_OwnOr(logging.ERROR))
    console.setFormatter(logging.Formatter(_FORMAT))
    handlers: list[logging.Handler] = [console]
    path = log_file()
    if path is not None:
        file = _LazyRotatingFile(path, maxBytes=5 * 2**20, backupCount=1, delay=True)
        file.setLevel(logging.INFO)
        file.addFilter(_OwnOr(logging.WARNING))  # SDV's INFO usage records stay out
        file.setFormatter(logging.Formatter("%(asctime)s " + _FORMAT))
        handlers.append(file)
    for h in handlers:
        setattr(h, _MARK, True)
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in OWN_LOGGERS:  # INFO from the project reaches the file, not the terminal
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings" -> the file


def route_library_logger(name: str) -> None:
    """Send a library that installs its own stderr handler (transformers) through ours."""
    if not any(getattr(h, _MARK, False) for h in logging.getLogger().handlers):
        return  # not under the CLI: leave the library's own set-up alone
    lib = logging.getLogger(name)
    for h in list(lib.handlers):
        lib.removeHandler(h)
    lib.propagate = True
