"""Where the command line's log records go.

* stderr: samplegen's own warnings and errors (``--verbose``: its debug messages too);
  a third-party record reaches stderr only at ERROR.
* the log file ``$SAMPLEGEN_CACHE_DIR/logs/samplegen.log`` (created on the first
  record, rotated at 5 MB): everything from INFO up, including Python warnings and
  the libraries' notices a user cannot act on (transformers, SDV, numpy).

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


def log_file() -> Path:
    """The CLI's log file (its folder is made when the first record is written)."""
    root = os.environ.get("SAMPLEGEN_CACHE_DIR") or str(Path.home() / ".cache" / "samplegen")
    return Path(root).expanduser() / "logs" / "samplegen.log"


class _OwnOrError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith(OWN_LOGGERS) or record.levelno >= logging.ERROR


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
    console.addFilter(_OwnOrError())
    console.setFormatter(logging.Formatter(_FORMAT))
    file = _LazyRotatingFile(log_file(), maxBytes=5 * 2**20, backupCount=1, delay=True)
    file.setLevel(logging.INFO)
    file.setFormatter(logging.Formatter("%(asctime)s " + _FORMAT))
    for h in (console, file):
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
