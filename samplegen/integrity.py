"""Evaluation integrity guards: split provenance and test contamination.

* **Provenance.** A run directory records the split its generator was fitted
  on (rule + fingerprint of the training rows) and which rows those were
  (``fit_rows.npz``: a bit per source row plus the source's fingerprint, and the
  content hashes of the *clicked* fitting rows; a few hundred KB where the hashes
  of every row took 17 MB). :func:`check_provenance` recomputes the evaluation
  split and refuses (``LeakageError``, exit 2) a synthetic set whose fitting rows
  overlap the validation or test rows: exactly, row by row, when the source is
  the same table; on the clicked rows (the ones a positive can copy) otherwise.
* **Contamination.** :func:`contamination` counts synthetic rows that copy a
  test row exactly, or nearly (equal on every compared column but one).
* **Repeated rows.** Real logs repeat rows (coarse categorical features): a test
  row whose content also occurs in the training part is no evidence of a leak, so
  both guards leave such rows out and say how many they left out.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import LeakageError
from samplegen.schema import Schema
from samplegen.split import row_hashes

__all__ = [
    "FIT_ROWS_FILE",
    "ContaminationReport",
    "ProvenanceCheck",
    "check_provenance",
    "contamination",
    "provenance_record",
    "write_fit_rows",
]

log = logging.getLogger(__name__)

FIT_ROWS_FILE = "fit_rows.npz"
_LEGACY_FIT_ROWS = "fit_rows.npy"  # older run directories: every fitting row's hash (8 B a row)


def provenance_record(source: Source, split: Any) -> dict[str, Any]:
    """What a run directory's manifest says about the rows its generator was fitted on."""
    return {
        "source": source.name,
        "rule": split.rule,
        "n_fit_rows": int(len(split.train)),
        "fit_fingerprint": split.train_fingerprint(source),
        "fit_rows_file": FIT_ROWS_FILE,
    }


def write_fit_rows(run_dir: str | Path, source: Source, split: Any) -> Path:
    """Write which source rows the generator was fitted on into ``run_dir`` (atomically)."""
    path = Path(run_dir) / FIT_ROWS_FILE
    hashes = row_hashes(source.table)
    mask = np.zeros(len(source.table), dtype=bool)
    mask[np.asarray(split.train, dtype=np.int64)] = True
    clicked = _clicked(source)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")  # per process: workers race
    np.savez_compressed(tmp, positions=np.packbits(mask), n_rows=np.int64(len(mask)),
                        source_fingerprint=np.str_(_ordered_fingerprint(hashes)),
                        clicked_hashes=np.unique(hashes[mask & clicked]))
    tmp.replace(path)
    return path


def _ordered_fingerprint(hashes: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(hashes, dtype=np.uint64).tobytes()).hexdigest()


def _clicked(source: Source) -> np.ndarray:
    """Rows a synthetic positive could copy: the clicked ones (all rows without a click label)."""
    col = source.schema.click
    if col is None or col not in source.table.columns:
        return np.ones(len(source.table), dtype=bool)
    return (pd.to_numeric(source.table[col], errors="coerce").fillna(0) > 0).to_numpy()


def _overlap(run_dir: Path, source: Source, split: Any
             ) -> tuple[np.ndarray, np.ndarray, str, np.ndarray] | None:
    """(validation rows seen, test rows seen, basis, every row's hash) from the run's
    fitting-row record, if any (the masks are over ``split.valid`` / ``split.test``)."""
    path, legacy = run_dir / FIT_ROWS_FILE, run_dir / _LEGACY_FIT_ROWS
    if not path.is_file() and not legacy.is_file():
        return None
    hashes = row_hashes(source.table)
    every = np.ones(len(hashes), dtype=bool)
    if not path.is_file():
        fit_h, basis, rows = np.load(legacy), "rows", every
    else:
        rec = np.load(path)
        if int(rec["n_rows"]) == len(hashes) and \
                str(rec["source_fingerprint"]) == _ordered_fingerprint(hashes):
            # the same table: the fitting rows' contents are known exactly (a row present in
            # both parts, e.g. shared by a --train and a --test file, counts as seen)
            fit = np.unpackbits(rec["positions"], count=len(hashes)).astype(bool)
            fit_h, basis, rows = np.unique(hashes[fit]), "rows", every
        else:
            fit_h, basis, rows = rec["clicked_hashes"], "clicked rows", _clicked(source)
    seen = [rows[idx] & np.isin(hashes[idx], fit_h) for idx in (split.valid, split.test)]
    return seen[0], seen[1], basis, hashes


@dataclass
class ProvenanceCheck:
    """Outcome of :func:`check_provenance`."""

    status: str  # "same-split" | "disjoint" | "unknown"
    detail: str
    overlap_valid: int = 0
    overlap_test: int = 0
    #: validation/test rows whose content also occurs in the training part (not counted)
    shared_content: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_provenance(run_dir: str | Path, source: Source, split: Any) -> ProvenanceCheck:
    """Refuse a run directory whose generator saw this split's validation or test rows."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    prov = manifest.get("provenance") or manifest.get("split") or {}
    overlap = _overlap(run_dir, source, split)
    if overlap is None:
        if not prov:
            return ProvenanceCheck("unknown", "the synthetic set records no fitting split; its "
                                   "overlap with the test rows is checked by the contamination "
                                   "guard")
        fp = prov.get("fit_fingerprint") or prov.get("train_fingerprint")
        if fp == split.train_fingerprint(source):
            return ProvenanceCheck("same-split", "fitted on the training rows of this split")
        return ProvenanceCheck("unknown", "fitting-row record missing; fingerprints differ")
    raw_valid, raw_test, basis, hashes = overlap
    shared_content = ov_valid = ov_test = 0
    rule = prov.get("rule", "unknown")
    if raw_valid.any() or raw_test.any():
        shared = (split.rule.get("overlap") or {}) if split.rule.get("kind") == "files" else {}
        if shared.get("train&test") or shared.get("train&valid"):
            raise LeakageError(
                f"the --train file shares {shared.get('train&test', 0)} row(s) with the --test "
                f"file and {shared.get('train&valid', 0)} with the validation rows, so the "
                f"generator of {str(run_dir)!r} saw evaluation rows. Fix: remove the shared "
                "rows from one of the files, then generate again.")
        # A log with repeated rows (coarse categorical features) has rows in its test part
        # whose content also occurs in its training part. A generator fitted on the training
        # part saw that content through the training copy, not the test row: only rows whose
        # content is absent from this split's training part are evidence of a leak.
        in_train = hashes[split.train]
        ov_v = raw_valid & ~np.isin(hashes[split.valid], in_train)
        ov_t = raw_test & ~np.isin(hashes[split.test], in_train)
        ov_valid, ov_test = int(ov_v.sum()), int(ov_t.sum())
        shared_content = int(raw_valid.sum() + raw_test.sum()) - ov_valid - ov_test
    if ov_valid or ov_test:
        raise LeakageError(
            f"synthetic set {str(run_dir)!r} was fitted on rows that this evaluation uses for "
            f"validation ({ov_valid} {basis}) or test ({ov_test} {basis}); its generator split "
            f"was {rule}. A generator that saw test rows can copy them and fake a lift. Fix: "
            f"regenerate with `samplegen generate {source.name} ...` (it fits on the training "
            "part of the same default split), or pass the same --train/--test files to both "
            "commands."
        )
    detail = f"fitting rows do not overlap validation or test rows (compared: {basis})"
    if shared_content:
        detail += (f"; {shared_content} validation/test row(s) repeat the content of a training "
                   "row: the source repeats them, so they are not counted as seen")
    return ProvenanceCheck("disjoint", detail, shared_content=shared_content)


@dataclass
class ContaminationReport:
    """Exact and near-duplicate matches of synthetic rows in the test split."""

    rows: int
    exact: int
    near: int
    share: float
    threshold: float
    contaminated: bool
    columns: list[str]
    #: test rows left out because their content also occurs in the training rows
    shared: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def contamination(synthetic: pd.DataFrame, test: pd.DataFrame, schema: Schema, *,
                  threshold: float = 0.01, train: pd.DataFrame | None = None
                  ) -> ContaminationReport:
    """Count synthetic rows equal to a test row on every feature and key column (exact) or on
    all of them but one (near); above ``threshold`` (share of synthetic rows) the set is
    contaminated. With ``train`` (the rows the generator may use), test rows whose content
    also occurs in ``train`` are left out (``shared`` counts them): a copy of one copies a
    training row, which sources with repeated rows hold many of, and is no test leak."""
    cols = [c.name for c in schema.columns if c.is_feature or c.key]
    cols = [c for c in cols if c in synthetic.columns and c in test.columns]
    n = len(synthetic)
    if n == 0 or not cols:
        return ContaminationReport(n, 0, 0, 0.0, threshold, False, cols)
    if train is not None and not all(c in train.columns for c in cols):
        train = None

    def test_hashes(columns: list[str]) -> np.ndarray:
        h = row_hashes(test, columns)
        return h if train is None else h[~np.isin(h, row_hashes(train, columns))]

    kept = test_hashes(cols)
    shared = len(test) - len(kept)
    exact_mask = np.isin(row_hashes(synthetic, cols), kept)
    near_mask = np.zeros(n, dtype=bool)
    if len(cols) > 2:
        for c in cols:
            rest = [x for x in cols if x != c]
            near_mask |= np.isin(row_hashes(synthetic, rest), test_hashes(rest))
    near_mask &= ~exact_mask
    exact, near = int(exact_mask.sum()), int(near_mask.sum())
    share = (exact + near) / n
    if share > threshold:
        log.warning("synthetic set copies or nearly copies %d of %d test rows", exact + near, n)
    return ContaminationReport(n, exact, near, round(share, 6), threshold, share > threshold, cols,
                               shared)
