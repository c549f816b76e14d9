"""Run directories: chunked Parquet with atomic renames, a manifest, rejects, locks, resume.

Layout::

    OUT/manifest.json        config, plan, provenance, counts, timings (rewritten atomically)
    OUT/schema.json          the schema the rows follow
    OUT/chunks/part-00000.parquet   one committed chunk (its report in the Parquet metadata)
    OUT/locks/part-00000.lock       a claim by a live worker (O_EXCL), removed when done
    OUT/synthetic.parquet    all chunks merged, duplicates dropped (written last, atomically)
    OUT/rejects.jsonl        a bounded sample of rejected rows with their reasons

A chunk file appears only through ``os.replace`` of a finished temporary file,
so a killed run leaves either a whole chunk or none. A claim is a lock file
created with ``O_CREAT | O_EXCL``; two workers can never both claim a chunk. A
lock whose process is gone (same host) is stale and may be broken.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from samplegen.errors import RunDirError

__all__ = ["RunDir", "ChunkSpec", "config_key", "config_diff", "atomic_write_text", "json_default", "MANIFEST",
           "SYNTHETIC"]

MANIFEST = "manifest.json"
SYNTHETIC = "synthetic.parquet"
REJECTS = "rejects.jsonl"
_META_KEY = b"samplegen.chunk"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def config_key(config: dict[str, Any]) -> str:
    """Stable hash of a run configuration (what must match for ``--resume``)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ChunkSpec:
    """One unit of work: ``n`` rows for target ``target`` (an index into the targets)."""

    index: int
    target: int
    n: int

    def seed(self, run_seed: int) -> int:
        """Seed of this chunk, derived from the run seed and the chunk index."""
        import numpy as np

        return int(np.random.SeedSequence([int(run_seed), self.index]).generate_state(1)[0])


class RunDir:
    """A run directory on disk (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.chunks = self.path / "chunks"
        self.locks = self.path / "locks"

    # ------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def synthetic_path(self) -> Path:
        return self.path / SYNTHETIC

    @property
    def rejects_path(self) -> Path:
        return self.path / REJECTS

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when there is none."""
        if not self.manifest_path.is_file():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except json.JSONDecodeError as e:
            raise RunDirError(f"{str(self.manifest_path)!r} is not valid JSON ({e}). Fix: remove "
                              "the directory or pass another --out.") from e

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, default=json_default))

    def check_usable(self, key: str, *, resume: bool,
                     config: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Raise RunDirError unless the directory is empty/new or holds this run and ``resume``.

        Returns the existing manifest when resuming, else None. A run that failed or was
        interrupted before its first chunk is reusable by any command (None: start afresh,
        see :meth:`reset`).
        Touches nothing.
        """
        if not self.path.exists():
            return None
        if not self.path.is_dir():
            raise RunDirError(f"--out {str(self.path)!r} is a file. Fix: pass a directory.")
        manifest = self.read_manifest()
        if manifest is None:
            if any(not p.name.startswith(".") for p in self.path.iterdir()):
                raise RunDirError(f"--out {str(self.path)!r} is not empty and holds no samplegen "
                                  "run. Fix: pass a new or empty directory.")
            return None
        stopped_early = manifest.get("status") in ("failed", "interrupted") and not self.done()
        if stopped_early and (manifest.get("config_key") != key or not resume):
            return None  # nothing to keep: the corrected (or the same) command starts afresh
        if manifest.get("config_key") != key:
            diff = config_diff(manifest.get("config") or {}, config or {})
            raise RunDirError(f"--out {str(self.path)!r} holds another run (generator "
                              f"{manifest.get('generator', {}).get('name')!r}, status "
                              f"{manifest.get('status')!r}){diff}. Fix: pass a new --out, or "
                              "repeat that run's exact flags with --resume.")
        if not resume:
            raise RunDirError(f"--out {str(self.path)!r} already holds this run (status "
                              f"{manifest.get('status')!r}). Fix: add --resume to continue it, "
                              "or pass a new --out.")
        return manifest

    def reset(self) -> None:
        """Remove what a failed run left (manifest, schema, model, chunks, locks, hashes)."""
        import shutil

        for name in (MANIFEST, "schema.json", "fit_rows.npy", SYNTHETIC, REJECTS):
            (self.path / name).unlink(missing_ok=True)
        for d in (self.chunks, self.locks, self.path / "model"):
            shutil.rmtree(d, ignore_errors=True)

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.chunks.mkdir(parents=True, exist_ok=True)
        self.locks.mkdir(parents=True, exist_ok=True)

    # -------------------------------------------------------------- chunks
    def chunk_path(self, index: int) -> Path:
        return self.chunks / f"part-{index:05d}.parquet"

    def done(self) -> dict[int, Path]:
        """Committed chunks by index."""
        out = {}
        for p in self.chunks.glob("part-*.parquet"):
            try:
                out[int(p.stem.split("-")[1])] = p
            except (IndexError, ValueError):
                continue
        return dict(sorted(out.items()))

    def write_chunk(self, index: int, df: pd.DataFrame | pa.Table,
                    report: dict[str, Any]) -> Path:
        """Commit a chunk atomically; ``report`` goes into the Parquet key-value metadata."""
        table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(report, default=json_default).encode()
        table = table.replace_schema_metadata(meta)
        final = self.chunk_path(index)
        tmp = self.chunks / f".{final.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        return final

    def chunk_report(self, index: int) -> dict[str, Any]:
        md = pq.read_schema(self.chunk_path(index)).metadata or {}
        return json.loads(md.get(_META_KEY, b"{}"))

    def read_chunk(self, index: int, columns: list[str] | None = None) -> pd.DataFrame:
        return pq.read_table(self.chunk_path(index), columns=columns).to_pandas()

    def clean_temporaries(self) -> int:
        """Remove temporary files left by killed writers of this host; returns the count."""
        n = 0
        for d in (self.path, self.chunks):
            for p in d.glob(".*.tmp"):
                pid = _pid_of_tmp(p.name)
                if pid is None or not _alive(pid):
                    if p.is_dir():
                        import shutil

                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
                    n += 1
        return n

    # --------------------------------------------------------------- locks
    def claim(self, index: int) -> bool:
        """Claim chunk ``index`` for this process; False when a live worker holds it."""
        lock = self.locks / f"part-{index:05d}.lock"
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "t": time.time()})
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale(lock):
                    return False
                continue
            with os.fdopen(fd, "w") as f:
                f.write(info)
            return True
        return False

    def release(self, index: int) -> None:
        (self.locks / f"part-{index:05d}.lock").unlink(missing_ok=True)

    def locked(self, index: int) -> bool:
        """True when a live worker holds chunk ``index``."""
        lock = self.locks / f"part-{index:05d}.lock"
        return lock.exists() and not self._is_stale(lock)

    def _is_stale(self, lock: Path) -> bool:
        try:
            info = json.loads(lock.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            # a lock being written right now has no content yet; old and empty means dead
            try:
                return time.time() - lock.stat().st_mtime > 30
            except OSError:
                return False
        if info.get("host") != socket.gethostname():
            return False  # another machine: cannot tell; never break it
        return not _alive(int(info.get("pid", -1)))

    def _break_if_stale(self, lock: Path) -> bool:
        if not self._is_stale(lock):
            return False
        grave = lock.with_name(f"{lock.name}.stale.{os.getpid()}")
        try:
            os.replace(lock, grave)  # only one breaker wins the rename of a given lock
        except FileNotFoundError:
            return True
        grave.unlink(missing_ok=True)
        return True

    # --------------------------------------------------------------- merge
    def iter_chunks(self, columns: list[str] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        for index in self.done():
            yield index, self.read_chunk(index, columns)

    def write_merged(self, frames: Iterator[pd.DataFrame], schema_arrow: pa.Schema | None) -> int:
        """Stream frames into synthetic.parquet (atomically); returns the row count."""
        final = self.synthetic_path
        tmp = self.path / f".{final.name}.{os.getpid()}.tmp"
        writer = None
        rows = 0
        try:
            for df in frames:
                table = pa.Table.from_pandas(df, preserve_index=False)
                table = table.replace_schema_metadata(None)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema_arrow or table.schema)
                writer.write_table(table.cast(writer.schema) if schema_arrow else table)
                rows += len(df)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise RunDirError(f"{str(self.path)!r}: no rows to merge.")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
        return rows

    def write_rejects(self, records: list[dict[str, Any]]) -> None:
        atomic_write_text(self.rejects_path, "".join(
            json.dumps(r, default=json_default) + "\n" for r in records))


#: the flags that set each part of a run's configuration (for --resume mismatches)
_CONFIG_FLAGS = {
    "source": "SOURCE", "schema": "--schema/--click/--conversion/--category/--keep",
    "train_fingerprint": "the data (SOURCE, --n-impressions, --train/--test)",
    "split_rule": "the split (--train/--test/--valid)", "generator": "--generator",
    "params": "--param/--backend/--model/--base-url/--template/--constrained/--epochs",
    "seed": "--seed", "targets": "--target/--n/--per-category", "chunk_rows": "--chunk-rows",
    "align": "--align",
}


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """``"; differs in --seed (run: 0, now: 1), ..."`` or "" (for RunDirError messages)."""
    parts = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                     default=str):
            continue
        shown = "" if k in ("schema", "train_fingerprint", "split_rule") else \
            f" (run: {_short(a)}, now: {_short(b)})"
        parts.append(f"{_CONFIG_FLAGS.get(k, k)}{shown}")
    return f"; differs in {', '.join(parts)}" if parts else ""


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _pid_of_tmp(name: str) -> int | None:
    parts = name.split(".")
    try:
        return int(parts[-2])
    except (IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def json_default(o: Any) -> Any:
    """json.dumps fallback: numpy scalars and arrays, paths, timestamps, dataclasses."""
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, (np.ndarray,)):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


# ------------------------------------------------------------ chunk reports
#: rejected rows kept in rejects.jsonl (a bounded sample)
MAX_REJECT_EXAMPLES = 200


def chunk_counts(reports: dict[int, dict[str, Any]], dups: int, written: int,
            requested: int) -> dict[str, Any]:
    rejected: Counter = Counter()
    repaired: Counter = Counter()
    drawn = surplus = produced = 0
    for r in reports.values():
        rejected.update(r.get("rejected", {}))
        repaired.update(r.get("repaired", {}))
        drawn += r.get("drawn", 0)
        surplus += r.get("surplus", 0)
        produced += r.get("produced", 0)
    if dups:
        rejected["duplicate_across_workers"] += dups
    total = int(sum(rejected.values()))
    return {"requested": requested, "written": written, "drawn": drawn, "surplus": surplus,
            "rejected": dict(sorted(rejected.items())), "rejected_total": total,
            "repaired": dict(sorted(repaired.items())),
            "add_up": drawn == written + total + surplus,
            "rule": "drawn = written + rejected_total + surplus"}


def chunk_rejects(reports: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for idx, r in reports.items():
        for ex in r.get("examples", []):
            if len(out) >= MAX_REJECT_EXAMPLES:
                return out
            out.append({"chunk": idx, **ex})
    return out
