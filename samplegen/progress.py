"""Progress on long steps, in one style: tqdm bars on a terminal, a plain line every
:data:`LOG_EVERY_S` seconds when stderr is a file or a pipe (CI logs), nothing when quiet.

* :func:`bar` -- a tqdm bar (``update``, ``set_postfix``, ``close``; a context manager).
  Steps shorter than ``delay`` seconds print nothing.
* :func:`heartbeat` -- refresh the innermost open bar (an LLM's decoding loop calls it
  per step, so a batch of a minute still shows time moving).
* :func:`waiting` -- a bar over a call that reports nothing (an SDV or LightGBM fit):
  a thread refreshes it, and ``poll`` (e.g. epochs done) sets its count.
* :func:`set_quiet` -- the CLI's ``--quiet``; ``SAMPLEGEN_QUIET=1`` does the same.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["LOG_EVERY_S", "bar", "heartbeat", "is_quiet", "note", "quieted", "set_quiet",
           "waiting"]

#: seconds between two progress lines when stderr is not a terminal
LOG_EVERY_S = 5.0
_state: dict[str, Any] = {"quiet": None}
_open: list[Any] = []  # innermost last
_lock = threading.Lock()


def set_quiet(quiet: bool | None) -> None:
    """Turn progress off (True), on (False), or back to the environment's say (None)."""
    _state["quiet"] = quiet


@contextlib.contextmanager
def quieted(quiet: bool = True) -> Iterator[None]:
    """No progress inside the block when ``quiet`` (else leave the setting as it is)."""
    old = _state["quiet"]
    if quiet:
        _state["quiet"] = True
    try:
        yield
    finally:
        _state["quiet"] = old


def is_quiet() -> bool:
    if _state["quiet"] is not None:
        return bool(_state["quiet"])
    return os.environ.get("SAMPLEGEN_QUIET", "").strip().lower() in ("1", "true", "yes")


def _tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # tqdm's cursor moves between nested bars


class _Lines:
    """A file for tqdm that turns each redraw (``\\r...``) into one plain line on the
    stderr of the moment the bar was made (a library may redirect stderr meanwhile)."""

    def __init__(self) -> None:
        self.stream = sys.stderr

    def write(self, s: str) -> int:
        text = _ESCAPES.sub("", s.replace("\r", "")).strip()
        if text:
            self.stream.write(text + "\n")
        return len(s)

    def flush(self) -> None:
        with contextlib.suppress(AttributeError, ValueError):
            self.stream.flush()


class _Bar:
    """Import tqdm lazily and keep the stack of open bars for :func:`heartbeat`."""

    @staticmethod
    def make(iterable: Iterable[Any] | None, **kw: Any) -> Any:
        from tqdm.auto import tqdm

        class _Tracked(tqdm):  # type: ignore[misc,valid-type]
            def close(self) -> None:
                with _lock:
                    if self in _open:
                        _open.remove(self)
                super().close()

        b = _Tracked(iterable, **kw)
        if not b.disable:
            with _lock:
                _open.append(b)
        return b


def bar(iterable: Iterable[Any] | None = None, *, total: float | None = None, desc: str = "",
        unit: str = "it", delay: float = 2.0, leave: bool = False, **kw: Any) -> Any:
    """A tqdm bar in the project's style (see the module docstring); off a terminal a bar
    that was shown ends with a line of its final count."""
    tty = _tty()
    return _Bar.make(
        iterable, total=total, desc=desc, unit=unit, leave=leave if tty else True,
        disable=is_quiet(), delay=delay, miniters=0, dynamic_ncols=True,
        mininterval=0.5 if tty else LOG_EVERY_S, maxinterval=LOG_EVERY_S * 2,
        file=sys.stderr if tty else _Lines(), **kw)


def note(b: Any, **postfix: Any) -> None:
    """Set some of the bar's ``key=value`` notes, keeping the others (no redraw)."""
    merged = {**getattr(b, "_notes", {}), **postfix}
    b._notes = merged
    b.set_postfix(merged, refresh=False)


def heartbeat(**postfix: Any) -> None:
    """Refresh the innermost open bar (at most once per its interval); add ``postfix``."""
    with _lock:
        b = _open[-1] if _open else None
    if b is None:
        return
    if postfix:
        note(b, **postfix)
    b.update(0)


@contextlib.contextmanager
def waiting(desc: str, *, total: float | None = None, unit: str = "it",
            poll: Callable[[], float | None] | None = None) -> Iterator[Any]:
    """Show ``desc`` with elapsed time (and ``poll()`` of ``total``) while the body runs."""
    fmt = None if total else "{desc}: {elapsed} elapsed{postfix}"
    b = bar(total=total, desc=desc, unit=unit, bar_format=fmt)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5 if _tty() else LOG_EVERY_S / 2):
            done = _safe(poll)
            if done is not None and done != b.n:
                b.n = done
            b.update(0)

    thread = None if b.disable else threading.Thread(target=tick, daemon=True)
    if thread is not None:
        thread.start()
    try:
        yield b
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        b.close()


def _safe(poll: Callable[[], float | None] | None) -> float | None:
    if poll is None:
        return None
    try:
        return poll()
    except Exception:  # noqa: BLE001 - a progress probe must never break the work
        return None
