"""Where samplegen keeps caches (dequantised models and the like).

The directory is ``$SAMPLEGEN_CACHE_DIR`` when set, else ``~/.cache/samplegen``.
Nothing else is written outside the run directory a user names.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "redirect_library_caches"]


def cache_dir(*parts: str) -> Path:
    """Return (and create) the cache directory, or a sub-folder of it."""
    root = os.environ.get("SAMPLEGEN_CACHE_DIR") or str(Path.home() / ".cache" / "samplegen")
    path = Path(root).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def redirect_library_caches() -> None:
    """Point third-party caches under :func:`cache_dir` unless the user set them.

    matplotlib (``MPLCONFIGDIR``: its font cache and config, else ``~/.cache`` and
    ``~/.config/matplotlib``) reads its variable when first imported, so call this
    before importing it. SDV's usage-log config (``~/.local/share/sdv``) is switched
    off where SDV is used (:mod:`samplegen.generators.sdv`).
    """
    if "MPLCONFIGDIR" not in os.environ:
        os.environ["MPLCONFIGDIR"] = str(cache_dir("matplotlib"))
