"""Dataset plug-in: tables from pandas, Parquet, CSV, Hugging Face datasets or a
samplegen run directory, and streaming over Parquet row groups.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import IterableDataset

from downstream.data import SYNTHETIC_COL, FeatureEncoder, iter_batches
from samplegen.errors import DataError, RunDirError, UsageError
from samplegen.schema import Schema

__all__ = ["read_table", "read_run_dir", "is_run_dir", "ParquetBatches"]

log = logging.getLogger(__name__)


def is_run_dir(path: str | Path) -> bool:
    """True for a folder holding ``synthetic.parquet`` and ``manifest.json``."""
    p = Path(path)
    return p.is_dir() and (p / "synthetic.parquet").exists() and (p / "manifest.json").exists()


def read_run_dir(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Synthetic rows (flagged ``is_synthetic=1``) and the manifest of a run directory."""
    p = Path(path)
    if not p.is_dir():
        raise RunDirError(f"synthetic set {str(p)!r} is not a directory. Fix: pass a run "
                          "directory written by 'samplegen generate'.")
    if not is_run_dir(p):
        raise RunDirError(f"{str(p)!r} lacks synthetic.parquet or manifest.json. Fix: pass a "
                          "finished run directory of 'samplegen generate'.")
    try:
        manifest = json.loads((p / "manifest.json").read_text())
    except json.JSONDecodeError as e:
        raise RunDirError(f"{str(p / 'manifest.json')!r} is not valid JSON: {e}.") from e
    df = pd.read_parquet(p / "synthetic.parquet")
    df[SYNTHETIC_COL] = 1
    return df, manifest


def read_table(obj: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a ``datasets.Dataset``, a Parquet/CSV/JSONL file,
    or a run directory (its synthetic rows)."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if hasattr(obj, "to_pandas") and hasattr(obj, "features"):  # datasets.Dataset
        return obj.to_pandas()
    if isinstance(obj, (str, Path)):
        p = Path(obj)
        if is_run_dir(p):
            return read_run_dir(p)[0]
        if not p.exists():
            raise UsageError(f"{str(p)!r} does not exist. Fix: pass an existing file.")
        suf = p.suffix.lower()
        try:
            if suf in (".parquet", ".pq"):
                return pd.read_parquet(p)
            if suf in (".csv", ".tsv"):
                return pd.read_csv(p, sep="\t" if suf == ".tsv" else ",")
            if suf in (".jsonl", ".json"):
                return pd.read_json(p, lines=suf == ".jsonl")
            if p.is_dir():
                import datasets

                return datasets.load_from_disk(str(p)).to_pandas()
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read {str(p)!r}: {e}") from e
        raise UsageError(f"{str(p)!r}: unknown table format. Fix: use .parquet, .csv, .jsonl "
                         "or a saved Hugging Face dataset folder.")
    raise UsageError(f"cannot turn a {type(obj).__name__} into a table. Fix: pass a DataFrame, "
                     "a datasets.Dataset or a path.")


class ParquetBatches(IterableDataset):
    """Encoded batches streamed from a Parquet file one row group at a time.

    Memory holds one row group. Row groups are shuffled with a seeded
    generator per epoch (call :meth:`set_epoch`), rows within a group too;
    DataLoader workers and ``shard=(rank, world)`` split the row groups.
    Use with ``DataLoader(ds, batch_size=None)``.
    """

    def __init__(self, path: str | Path, encoder: FeatureEncoder, batch_size: int = 4096, *,
                 shuffle: bool = True, seed: int = 0, shard: tuple[int, int] | None = None,
                 schema: Schema | None = None):
        import pyarrow.parquet as pq

        self.path, self.encoder, self.batch_size = Path(path), encoder, batch_size
        self.shuffle, self.seed, self.shard, self.epoch = shuffle, seed, shard, 0
        self.schema = schema
        self.n_groups = pq.ParquetFile(self.path).num_row_groups

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _groups(self) -> list[int]:
        order = np.arange(self.n_groups)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        groups = list(order)
        if self.shard is not None:
            groups = groups[self.shard[0]:: self.shard[1]]
        info = torch.utils.data.get_worker_info()
        if info is not None:
            groups = groups[info.id:: info.num_workers]
        return [int(g) for g in groups]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        import pyarrow.parquet as pq

        f = pq.ParquetFile(self.path)
        for g in self._groups():
            df = f.read_row_group(g).to_pandas()
            if self.schema is not None:
                df = self.schema.coerce(df)
            table = self.encoder.transform(df)
            gen = torch.Generator().manual_seed(self.seed * 100003 + self.epoch * 1009 + g)
            yield from iter_batches(table, self.batch_size, shuffle=self.shuffle, generator=gen)
