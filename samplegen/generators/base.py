"""The Generator contract: validate-then-delegate ``fit``/``sample`` around ``_fit``/``_sample_batch``.

A generator fits on a (training) table and samples rows under optional
conditions such as ``{category: "cruise", click: 1, conversion: 1}``. The public
:meth:`Generator.sample` runs synthcity's loop: draw a batch, coerce types,
validate (schema domains, ``conversion => click``, conditions, entity
catalogs), drop duplicates and copies of real rows, repeat until ``n`` valid
rows or the patience runs out. Only valid rows are returned; what was dropped
is counted by reason in :attr:`Generator.last_report`.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen import progress
from samplegen.errors import GeneratorError, UsageError
from samplegen.generators.validation import RowValidator
from samplegen.schema import Schema

__all__ = ["Generator", "SampleReport", "RowValidator", "merge_reports"]

log = logging.getLogger(__name__)

_STATE_FILE = "generator.pkl"
_META_FILE = "generator.json"


@dataclass
class SampleReport:
    """What one :meth:`Generator.sample` call did.

    ``drawn`` counts raw rows produced by the model; every drawn row is either
    produced, rejected (by reason) or surplus (valid but beyond ``requested``).
    ``repaired`` counts rows fixed rather than dropped (e.g. an entity reused).
    """

    requested: int
    produced: int = 0
    drawn: int = 0
    surplus: int = 0
    batches: int = 0
    rejected: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    rejected_examples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    exhausted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested, "produced": self.produced, "drawn": self.drawn,
            "surplus": self.surplus, "batches": self.batches,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": int(sum(self.rejected.values())),
            "repaired": dict(sorted(self.repaired.items())),
            "seconds": round(self.seconds, 4), "exhausted": self.exhausted,
        }


def merge_reports(reports: list[SampleReport], max_examples: int = 50) -> SampleReport:
    """Sum several reports into one (for manifests)."""
    out = SampleReport(requested=0)
    for r in reports:
        out.requested += r.requested
        out.produced += r.produced
        out.drawn += r.drawn
        out.surplus += r.surplus
        out.batches += r.batches
        out.rejected.update(r.rejected)
        out.repaired.update(r.repaired)
        out.seconds += r.seconds
        out.exhausted = out.exhausted or r.exhausted
        room = max_examples - len(out.rejected_examples)
        out.rejected_examples.extend(r.rejected_examples[: max(room, 0)])
    return out


class Generator(ABC):
    """Base class of every synthetic-row generator.

    Subclasses set ``name`` and ``default_params`` and implement ``_fit`` and
    ``_sample_batch``. Class flags:

    * ``allow_real_copies`` / ``allow_duplicates``: oversampling duplicates real
      rows on purpose, every other generator must not.
    * ``honours_conditions``: ``_sample_batch`` returns rows meeting the
      conditions (else the base forces condition columns after sampling).

    Instance attributes set by subclasses: ``fit_note`` (which rows were fitted,
    e.g. "clicked rows only"; goes into the manifest) and ``fit_on_slice``.
    """

    name: ClassVar[str] = "base"
    default_params: ClassVar[dict[str, Any]] = {}
    allow_real_copies: ClassVar[bool] = False
    allow_duplicates: ClassVar[bool] = False
    honours_conditions: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.default_params) - {"batch_size", "patience"})
        if unknown:
            raise GeneratorError(
                f"generator {self.name!r} has no parameter(s) {unknown}. Fix: use only "
                f"{sorted(self.default_params) + ['batch_size', 'patience']}.")
        self.params: dict[str, Any] = {"batch_size": 1000, "patience": 50,
                                       **self.default_params, **params}
        if int(self.params["batch_size"]) <= 0 or int(self.params["patience"]) <= 0:
            raise GeneratorError("batch_size and patience must be positive integers.")
        self.schema: Schema | None = None
        self.validator: RowValidator | None = None
        self.fit_note: str | None = None
        self.fit_on_slice: bool = False
        self.fit_rows: int = 0
        self.fit_seconds: float = 0.0
        self.sample_notes: dict[str, str] = {}
        self.last_report: SampleReport | None = None

    # ------------------------------------------------------------------ fit
    @property
    def fitted(self) -> bool:
        return self.schema is not None

    def fit(self, table: pd.DataFrame, schema: Schema, *, seed: int = 0,
            reference: pd.DataFrame | None = None,
            validator: RowValidator | None = None) -> Generator:
        """Fit on ``table`` (the training split); ``reference`` (default ``table``) feeds
        the entity catalogs and the copy-of-real check, or pass the ``validator`` already
        built from those rows (several runs on one split). Returns ``self``."""
        if not isinstance(table, pd.DataFrame) or len(table) == 0:
            raise GeneratorError(f"{self.name}: fit needs a non-empty DataFrame. Fix: pass the "
                                 "training rows of the source.")
        missing = [c for c in schema.names if c not in table.columns]
        if missing:
            raise GeneratorError(f"{self.name}: the table lacks schema column(s) {missing}. "
                                 "Fix: pass the table the schema was made for.")
        table = schema.coerce(table[schema.names].reset_index(drop=True))
        if validator is not None and reference is not None:
            raise GeneratorError(f"{self.name}: pass reference or validator, not both.")
        if validator is not None and validator.schema.fingerprint() != schema.fingerprint():
            raise GeneratorError(f"{self.name}: the validator was built for another schema. "
                                 "Fix: build it with this schema, or omit it.")
        if validator is None:
            ref = table if reference is None else schema.coerce(reference[schema.names])
            validator = RowValidator.from_table(ref, schema)
        self.schema = schema
        self.validator = validator
        t0 = time.perf_counter()
        self.fit_rows = len(table)
        total, poll = self._fit_progress()
        with progress.waiting(f"{self.name}: fit ({len(table):,} training rows)", total=total,
                              unit=" epochs" if total else "it", poll=poll):
            self._fit(table, schema, seed=seed)
        self.fit_seconds = time.perf_counter() - t0
        log.info("%s fitted on %d rows in %.2fs", self.name, len(table), self.fit_seconds)
        return self

    @abstractmethod
    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        """Fit the model on a coerced table."""

    def _fit_progress(self) -> tuple[int | None, Any]:
        """``(total, poll)`` for the fit's progress bar: e.g. epochs and a probe of the
        epochs done (read while ``_fit`` runs); ``(None, None)`` shows elapsed time only."""
        return None, None

    # --------------------------------------------------------------- sample
    def sample(self, n: int, conditions: dict[str, Any] | None = None, *, seed: int = 0,
               exclude_hashes: set[int] | None = None) -> pd.DataFrame:
        """Return exactly ``n`` valid rows (fewer only when patience runs out; see
        ``last_report.exhausted``). ``exclude_hashes`` adds row hashes already
        accepted elsewhere (earlier chunks of a run); accepted rows are added to it."""
        if not self.fitted or self.validator is None or self.schema is None:
            raise GeneratorError(f"{self.name}: sample called before fit. Fix: call fit first.")
        if not isinstance(n, (int, np.integer)) or int(n) <= 0:
            raise UsageError(f"n must be a positive integer, got {n!r}.")
        conditions = self.validator.check_conditions(conditions or {})
        return self._loop(int(n), conditions, seed, exclude_hashes)

    def _loop(self, n: int, conditions: dict[str, Any], seed: int,
              exclude: set[int] | None) -> pd.DataFrame:
        assert self.validator is not None and self.schema is not None
        rng = np.random.default_rng(seed)
        report = SampleReport(requested=n)
        seen = exclude if exclude is not None else set()
        kept: list[pd.DataFrame] = []
        t0 = time.perf_counter()
        pb = progress.bar(total=n, desc=f"{self.name}: sample", unit=" rows")
        try:
            self._loop_batches(n, conditions, rng, report, seen, kept, pb)
        finally:
            pb.close()
        have = report.produced
        report.exhausted = have < n
        report.seconds = time.perf_counter() - t0
        self.last_report = report
        if report.exhausted:
            log.warning("%s: patience ran out after %d batches with %d/%d rows; rejects: %s",
                        self.name, report.batches, have, n, dict(report.rejected))
        if not kept:
            return self.schema.coerce(pd.DataFrame(columns=self.schema.names))
        return pd.concat(kept, ignore_index=True)[self.schema.names]

    def _loop_batches(self, n: int, conditions: dict[str, Any], rng: np.random.Generator,
                      report: SampleReport, seen: set[int], kept: list[pd.DataFrame],
                      pb: Any) -> None:
        assert self.validator is not None
        have, idle = 0, 0
        batch = int(self.params["batch_size"])
        patience = int(self.params["patience"])
        while have < n and idle < patience:
            want = min(batch, max(n - have, 1) * 2 if report.batches else max(n - have, 1))
            raw = self._sample_batch(want, conditions, rng)
            report.batches += 1
            report.drawn += len(raw)
            if not self.honours_conditions:
                raw = raw.assign(**{k: v for k, v in conditions.items()}) if len(raw) else raw
            res = self.validator.check(
                raw, conditions, rng=rng, seen=seen,
                allow_real_copies=self.allow_real_copies,
                allow_duplicates=self.allow_duplicates,
            )
            report.rejected.update(res.rejected)
            report.repaired.update(res.repaired)
            room = 20 - len(report.rejected_examples)
            if room > 0:
                report.rejected_examples.extend(res.examples[:room])
            good = res.valid
            if len(good) > n - have:
                report.surplus += len(good) - (n - have)
                self.validator.forget(good.iloc[n - have:], seen)
                good = good.iloc[: n - have]
            if len(good):
                kept.append(good)
                have += len(good)
                idle = 0
            else:
                idle += 1
            progress.note(pb, drawn=report.drawn, rejected=sum(report.rejected.values()))
            pb.update(len(good))
        report.produced = have

    @abstractmethod
    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        """Draw about ``n`` raw rows (any types; validation happens in the base)."""

    # ------------------------------------------------------------ save/load
    def save(self, directory: str | Path) -> Path:
        """Write the fitted generator to ``directory`` (created); returns the path."""
        if not self.fitted:
            raise GeneratorError(f"{self.name}: save called before fit.")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "class": f"{type(self).__module__}:{type(self).__qualname__}",
                "params": self.params, "fit_note": self.fit_note}
        (d / _META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        tmp = d / (_STATE_FILE + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump({"params": self.params, "state": self._state()}, f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(d / _STATE_FILE)
        return d

    @classmethod
    def load(cls, directory: str | Path) -> Generator:
        """Read a generator written by :meth:`save` (trusted files only: pickle)."""
        d = Path(directory)
        if not (d / _META_FILE).is_file() or not (d / _STATE_FILE).is_file():
            raise GeneratorError(f"{str(d)!r} holds no saved generator. Fix: pass the folder "
                                 "given to save().")
        meta = json.loads((d / _META_FILE).read_text())
        from samplegen.generators.registry import generator_class

        klass = generator_class(meta["name"])
        if cls is not Generator and not issubclass(klass, cls):
            raise GeneratorError(f"{str(d)!r} holds a {meta['name']!r} generator, not {cls.name!r}.")
        klass._before_load()
        with open(d / _STATE_FILE, "rb") as f:
            saved = pickle.load(f)
        obj = klass(**saved["params"])
        obj._set_state(saved["state"])
        return obj

    @classmethod
    def _before_load(cls) -> None:
        """Run before a saved state is unpickled (which imports the model's library)."""
        return None

    def _state(self) -> dict[str, Any]:
        """Everything needed to sample again; override to drop unpicklable parts."""
        return {k: v for k, v in self.__dict__.items() if k not in ("params", "last_report")}

    def _matching_rows(self, table: pd.DataFrame, conditions: dict[str, Any], *,
                       min_rows: int = 1) -> tuple[pd.DataFrame, list[str]]:
        """Real rows meeting ``conditions``; when fewer than ``min_rows`` do, relax the label
        conditions (conversion, then click) and return the relaxed names (to be forced by
        the caller; a sample note records it)."""
        assert self.schema is not None
        labels = [c for c in (self.schema.conversion, self.schema.click) if c in conditions]
        best: tuple[np.ndarray, list[str]] | None = None
        for k in range(len(labels) + 1):
            relaxed = labels[:k]
            mask = np.ones(len(table), dtype=bool)
            for col, val in conditions.items():
                if col not in relaxed:
                    mask &= (table[col] == val).to_numpy()
            if mask.any():
                best = (mask, relaxed)
                if mask.sum() >= min_rows:
                    break
        if best is None:
            raise GeneratorError(f"{self.name}: no real training row meets {conditions} even "
                                 "without the label conditions. Fix: pick a target category "
                                 "that has rows in the training split.")
        mask, relaxed = best
        if relaxed:
            self.sample_notes[self.condition_key(conditions)] = (
                f"{int(mask.sum())} real rows meet the conditions without {relaxed} (fewer "
                f"with them); used those rows and set {relaxed} to the asked values")
        return table.loc[mask].reset_index(drop=True), relaxed

    @staticmethod
    def condition_key(conditions: dict[str, Any]) -> str:
        """A stable text key for a condition dict (for notes and caches)."""
        return ",".join(f"{k}={conditions[k]}" for k in sorted(conditions)) or "(none)"

    def _set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -------------------------------------------------------------- helpers
    def describe(self) -> dict[str, Any]:
        """Name, parameters and fit facts for manifests."""
        return {"name": self.name, "params": dict(self.params), "fit_rows": self.fit_rows,
                "fit_note": self.fit_note, "fit_on_slice": self.fit_on_slice,
                "fit_seconds": round(self.fit_seconds, 4), "sample_notes": dict(self.sample_notes)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"
