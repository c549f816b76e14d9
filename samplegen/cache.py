"""Where samplegen keeps caches (dequantised models and the like).

The directory is ``$SAMPLEGEN_CACHE_DIR`` when set, else ``~/.cache/samplegen``.
Nothing else is written outside the run directory a user names.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """Return (and create) the cache directory, or a sub-folder of it."""
    root = os.environ.get("SAMPLEGEN_CACHE_DIR") or str(Path.home() / ".cache" / "samplegen")
    path = Path(root).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
