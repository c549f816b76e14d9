"""Evaluation integrity guards: split provenance and test contamination.

* **Provenance.** A run directory records the split its generator was fitted
  on (rule + fingerprint of the training rows) and the hashes of those rows
  (``fit_rows.npy``). :func:`check_provenance` recomputes the evaluation split
  and refuses (``LeakageError``, exit 2) a synthetic set whose fitting rows
  overlap the validation or test rows.
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

FIT_ROWS_FILE = "fit_rows.npy"


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
    """Write the sorted hashes of the fitting rows into ``run_dir`` (atomically)."""
    path = Path(run_dir) / FIT_ROWS_FILE
    hashes = np.unique(row_hashes(source.table.iloc[split.train]))
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")  # per process: workers race
    np.save(tmp, hashes)
    tmp.replace(path)
    return path


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
    hashes_path = run_dir / FIT_ROWS_FILE
    if not prov and not hashes_path.is_file():
        return ProvenanceCheck("unknown", "the synthetic set records no fitting split; its "
                               "overlap with the test rows is checked by the contamination guard")
    if hashes_path.is_file():
        fit = np.load(hashes_path)
    else:
        fp = prov.get("fit_fingerprint") or prov.get("train_fingerprint")
        if fp == split.train_fingerprint(source):
            return ProvenanceCheck("same-split", "fitted on the training rows of this split")
        return ProvenanceCheck("unknown", "fitting-row hashes missing; fingerprints differ")
    h_valid = row_hashes(source.table.iloc[split.valid])
    h_test = row_hashes(source.table.iloc[split.test])
    raw_valid, raw_test = np.isin(h_valid, fit), np.isin(h_test, fit)
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
        in_train = row_hashes(source.table.iloc[split.train])
        ov_v = raw_valid & ~np.isin(h_valid, in_train)
        ov_t = raw_test & ~np.isin(h_test, in_train)
        ov_valid, ov_test = int(ov_v.sum()), int(ov_t.sum())
        shared_content = int(raw_valid.sum() + raw_test.sum()) - ov_valid - ov_test
    if ov_valid or ov_test:
        raise LeakageError(
            f"synthetic set {str(run_dir)!r} was fitted on rows that this evaluation uses for "
            f"validation ({ov_valid} rows) or test ({ov_test} rows); its generator split was "
            f"{rule}. A generator that saw test rows can copy them and fake a lift. Fix: "
            f"regenerate with `samplegen generate {source.name} ...` (it fits on the training "
            "part of the same default split), or pass the same --train/--test files to both "
            "commands."
        )
    detail = "fitting rows do not overlap validation or test rows"
    if shared_content:
        detail += (f" ({shared_content} validation/test row(s) repeat the content of a training "
                   "row: the source repeats them, so they are not counted as seen)")
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
