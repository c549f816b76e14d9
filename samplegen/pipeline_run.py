"""One execution of a generate run: start or resume, fit or load, work on chunks, finalize.

Used by :func:`samplegen.pipeline.generate`; see that module for the protocol.

Fault injection (tests): with ``SAMPLEGEN_FAILPOINT=POINT:SIGNAL`` in the environment the
process sends itself SIGNAL (e.g. ``SIGTERM``, ``SIGKILL``) the first time it reaches POINT:
``fit`` (before fitting), ``align`` (before fitting the aligner), ``sample`` (after
committing a chunk) or ``merge`` (before writing synthetic.parquet).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from samplegen.datasets.base import Source
from samplegen.generators.base import Generator
from samplegen.generators.validation import RowValidator, normalize, row_hashes
from samplegen.progress import bar, waiting
from samplegen.rundir import ChunkSpec, RunDir, chunk_counts, chunk_rejects
from samplegen.schema import ColumnType, Schema

log = logging.getLogger(__name__)

MAX_TOPUP_ROUNDS = 5
ALIGN_POOL_FACTOR = 2
_FINALIZE = 10**6  # lock index of the finalizer
_FIT_ROWS = 10**6 + 1  # lock index of the fitting-row hashes writer

# The last validator and aligners fitted in this process, keyed by what determines
# them (training-row fingerprint, schema, and for an aligner its name and seed):
# several runs on one split (the demo: an LLM and two baselines) build them once.
_REUSE: dict[str, tuple[tuple, Any]] = {}


def _reused(kind: str, key: tuple, build: Any) -> Any:
    hit = _REUSE.get(kind)
    if hit is not None and hit[0] == key:
        log.info("reusing the %s fitted on the same training rows", kind)
        return hit[1]
    value = build()
    _REUSE[kind] = (key, value)
    return value


def arrow_schema(schema: Schema) -> pa.Schema:
    """Fixed Parquet types for the schema's storage types."""
    fields = []
    for c in schema.columns:
        if c.is_label:
            t = pa.int64()
        elif c.type == ColumnType.NUMERICAL:  # integer columns stay integers (875, not 875.0)
            t = pa.int64() if c.integer else pa.float64()
        elif c.type == ColumnType.DATETIME:
            t = pa.timestamp("ns")
        else:
            t = pa.string()
        fields.append(pa.field(c.name, t))
    return pa.schema(fields)


def package_versions() -> dict[str, str | None]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("samplegen", "numpy", "pandas", "pyarrow", "scikit-learn", "imbalanced-learn",
                "sdv", "torch", "transformers", "datasets"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


@dataclass
class Run:
    rd: RunDir
    source: Source
    split: Any
    train: pd.DataFrame
    gen: Generator
    targets: list[Any]
    plan: list[ChunkSpec]
    config: dict[str, Any]
    key: str
    seed: int
    align: str | None
    skipped: list[str]
    progress: Any
    timings: dict[str, float] = field(default_factory=dict)
    keep_model: bool = False
    workers: int = 1
    _hashes: dict[int, np.ndarray] = field(default_factory=dict)
    _aligner: Any = None
    _bar: Any = None
    _prov: dict[str, Any] | None = None

    @property
    def schema(self) -> Schema:
        return self.source.schema

    # ---------------------------------------------------------------- top
    def execute(self, existing: dict[str, Any] | None, *, workers: int, source_arg: Any) -> Any:
        from samplegen.pipeline import RunResult

        if existing and existing.get("status") == "complete" and self.rd.synthetic_path.is_file():
            return RunResult(self.rd.path, existing)
        if existing is None:
            self._start()
        try:
            return RunResult(self.rd.path, self._execute(workers))
        except BaseException as e:
            self._mark_stopped(e)
            raise

    def _execute(self, workers: int) -> dict[str, Any]:
        self.rd.create()
        self.rd.clean_temporaries()
        self.workers = workers
        with waiting(f"{self.gen.name}: recording the {len(self.train):,} fitting rows"):
            self._ensure_fit_rows()
        if self.progress is not None:
            self.progress(0, sum(s.n for s in self.plan))
        self._fit_or_load()
        procs = self._spawn(workers - 1)
        try:
            t0 = time.perf_counter()
            self._work(procs)
            self.timings["generate_s"] = time.perf_counter() - t0
        except BaseException:
            for p in procs:  # a failure or a signal here: stop the helpers (chunks are atomic)
                p.terminate()
            raise
        finally:
            for p in procs:
                p.join()
        bad = [p.exitcode for p in procs if p.exitcode]
        if bad:
            log.warning("%d worker process(es) failed (exit codes %s); this process finished "
                        "their chunks", len(bad), bad)
        manifest = self._finalize()
        if not self.keep_model:
            shutil.rmtree(self.rd.path / "model", ignore_errors=True)
        return manifest

    def _mark_stopped(self, e: BaseException) -> None:
        """Record in the manifest why this run stopped: "interrupted" (a signal; resumable) or
        "failed" (an error; the corrected command or --resume continues it)."""
        try:
            m = self.rd.read_manifest()
            if m is None or m.get("config_key") != self.key or \
                    m.get("status") in ("complete", "short"):
                return
            status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            reason = str(getattr(e, "args", [""])[0] if status == "interrupted" else e) \
                or type(e).__name__
            self.rd.write_manifest({**m, "status": status, "updated": _now(), "failure": {
                "reason": f"{type(e).__name__}: {reason}", "chunks_done": len(self.rd.done()),
                "resume": "rerun the same command with --resume (or correct the flag that "
                          "failed: a run without chunks is started afresh)"}})
        except Exception as err:  # noqa: BLE001 - never hide the original error
            log.warning("could not mark %s as stopped: %s", self.rd.path, err)

    def _start(self) -> None:
        from samplegen.rundir import atomic_write_text, json_default

        self.rd.path.mkdir(parents=True, exist_ok=True)
        self.rd.write_manifest(self._manifest("running"))  # first: marks the folder as this run
        self.rd.create()
        atomic_write_text(self.rd.path / "schema.json",
                          json.dumps(self.schema.to_dict(), indent=2, default=json_default))

    def _ensure_fit_rows(self) -> None:
        """Write the fitting-row hashes once (workers starting together take turns)."""
        from samplegen.integrity import FIT_ROWS_FILE, write_fit_rows

        if (self.rd.path / FIT_ROWS_FILE).is_file() or not self.rd.claim(_FIT_ROWS):
            return
        try:
            if not (self.rd.path / FIT_ROWS_FILE).is_file():
                write_fit_rows(self.rd.path, self.source, self.split)
        finally:
            self.rd.release(_FIT_ROWS)

    def _level(self) -> dict[str, Any] | None:
        """The level estimate of each target category (issue 17), or None."""
        from samplegen.level import level_record

        cat, sch = self.schema.category, self.schema
        if not cat or not sch.click or not sch.conversion:
            return None
        cats = list(dict.fromkeys(str(t.conditions[cat]) for t in self.targets
                                  if cat in t.conditions))
        return level_record(self.train, sch, cats, extras=self.source.extras) if cats else None

    def _manifest(self, status: str, **extra: Any) -> dict[str, Any]:
        from samplegen import __version__
        from samplegen.integrity import provenance_record

        if self._prov is None:
            self._prov = provenance_record(self.source, self.split)
            self._prov.update({
                "split": self.split.to_dict(), "train_fingerprint": self.config["train_fingerprint"],
                "basis": "the generator, entity catalogs and copy checks saw the training rows "
                         "only"})
        prov = self._prov
        return {
            "samplegen_version": __version__, "status": status, "config_key": self.key,
            "updated": _now(),
            "config": self.config, "generator": self.gen.describe(),
            "source": {"name": self.source.name, "rows": len(self.source.table),
                       "meta": self.source.meta},
            "schema": self.schema.to_dict(), "provenance": prov,
            "targets": [{"conditions": t.conditions, "n": t.n} for t in self.targets],
            "skipped_targets": {"categories": self.skipped, "reason": (
                "no training rows" if not self.gen.allow_real_copies else "no training rows "
                "with the asked labels (a generator that copies rows would fabricate them)")}
            if self.skipped else None,
            "plan": {"chunks": len(self.plan), "chunk_rows": self.config["chunk_rows"]},
            "seeds": {"run": self.seed, "fit": self.seed,
                      "chunk": "numpy SeedSequence([run seed, chunk index])"},
            "versions": package_versions(), **extra,
        }

    # ---------------------------------------------------------------- fit
    def _fit_or_load(self) -> None:
        model = self.rd.path / "model"
        t0 = time.perf_counter()
        if model.is_dir():
            try:
                self.gen = Generator.load(model)
                self.timings["fit_s"] = 0.0
                self.timings["model_load_s"] = time.perf_counter() - t0
                return
            except Exception as e:  # noqa: BLE001 - a broken save: refit (deterministic)
                log.warning("saved model in %s cannot be loaded (%s); refitting", model, e)
        _failpoint("fit")
        with waiting(f"{self.gen.name}: catalogs and copy checks of the training rows"):
            validator = _reused("validator", self._train_key(),  # from_table coerces the rows
                                lambda: RowValidator.from_table(self.train, self.schema))
        self.gen.fit(self.train, self.schema, seed=self.seed, validator=validator)
        self.timings["fit_s"] = time.perf_counter() - t0
        if self.keep_model or self.workers > 1:  # spawned workers load it instead of refitting
            self._save_model(model)

    def _save_model(self, model: Any) -> None:
        tmp = self.rd.path / f".model.{os.getpid()}.tmp"
        try:
            self.gen.save(tmp)
            os.rename(tmp, model)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another worker saved it first
        except Exception as e:  # noqa: BLE001 - unpicklable generator: resume refits
            log.warning("generator cannot be saved (%s); a resume will refit it", e)
            shutil.rmtree(tmp, ignore_errors=True)

    def _spawn(self, k: int) -> list[Any]:
        if k <= 0:
            return []
        import multiprocessing as mp

        kwargs = {"source": self.source, "generator": self.gen.name,
                  "generator_params": dict(self.gen.params), "out": str(self.rd.path),
                  "n": sum(t.n for t in self.targets),
                  "targets": [t.conditions for t in self.targets], "seed": self.seed,
                  "resume": True, "chunk_rows": self.config["chunk_rows"], "align": self.align,
                  "split": self.split, "keep_model": self.keep_model}
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=_worker_entry, args=(kwargs,), daemon=False) for _ in range(k)]
        for p in procs:
            p.start()
        return procs

    # --------------------------------------------------------------- work
    def _work(self, procs: list[Any] | None = None) -> None:
        total = sum(s.n for s in self.plan)
        pending = [s for s in self.plan if not self.rd.chunk_path(s.index).exists()]
        self._bar = bar(total=total, desc=f"{self.gen.name}: rows written", unit=" rows",
                        leave=True)
        try:
            self._work_pending(pending, total, procs)
        finally:
            self._bar.close()
            self._bar = None

    def _work_pending(self, pending: list[ChunkSpec], total: int,
                      procs: list[Any] | None) -> None:
        self._report_progress(total)
        while pending:
            progressed = False
            for spec in list(pending):
                if self.rd.chunk_path(spec.index).exists():
                    pending.remove(spec)
                    continue
                if not self.rd.claim(spec.index):
                    continue
                try:
                    if not self.rd.chunk_path(spec.index).exists():
                        self._make_chunk(spec, before=spec.index)
                finally:
                    self.rd.release(spec.index)
                pending.remove(spec)
                progressed = True
                self._report_progress(total)
            if pending and not progressed:
                for p in procs or []:
                    p.is_alive()  # reaps a dead child, so that its stale locks can be broken
                time.sleep(0.2)

    def _report_progress(self, total: int) -> None:
        import pyarrow.parquet as pq

        done = 0
        for s in self.plan:  # rows really written, not rows planned (a chunk may be short)
            path = self.rd.chunk_path(s.index)
            if path.exists():
                done += pq.read_metadata(path).num_rows
        done = min(done, total)
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
        if self.progress is not None:
            self.progress(done, total)

    def _seen(self, before: int | None, keep: dict[int, np.ndarray] | None = None) -> set[int]:
        seen: set[int] = set()
        for idx in self.rd.done():
            if before is not None and idx >= before:
                continue
            h = self._chunk_hashes(idx)
            seen.update((h[keep[idx]] if keep is not None else h).tolist())
        return seen

    def _chunk_hashes(self, idx: int) -> np.ndarray:
        if idx not in self._hashes:
            df = normalize(self.rd.read_chunk(idx), self.schema)
            self._hashes[idx] = row_hashes(df, self.schema)
        return self._hashes[idx]

    def _make_chunk(self, spec: ChunkSpec, *, before: int | None,
                    seen: set[int] | None = None) -> None:
        t0 = time.perf_counter()
        seen = self._seen(before) if seen is None else seen
        cond = self.targets[spec.target].conditions
        cseed = spec.seed(self.seed)
        extra: dict[str, Any] = {}
        if self.align:
            pool = self.gen.sample(ALIGN_POOL_FACTOR * spec.n, cond, seed=cseed,
                                   exclude_hashes=set(seen))
            rep = self.gen.last_report
            df, arep = self._get_aligner().select(pool, min(spec.n, len(pool)), seed=cseed)
            df = df.reset_index(drop=True)
            rep.rejected["not_selected_by_aligner"] += len(pool) - len(df)
            rep.rejected_examples.extend(_not_selected(pool, df, self.schema))
            rep.produced = len(df)
            extra["align"] = arep.to_dict() if hasattr(arep, "to_dict") else dict(arep)
        else:
            df = self.gen.sample(spec.n, cond, seed=cseed, exclude_hashes=seen)
            rep = self.gen.last_report
        report = {**rep.to_dict(), "examples": rep.rejected_examples, "index": spec.index,
                  "target": spec.target, "planned": spec.n, "seed": cseed, "pid": os.getpid(),
                  "seconds": round(time.perf_counter() - t0, 4), **extra}
        table = pa.Table.from_pandas(df[self.schema.names], preserve_index=False)
        self.rd.write_chunk(spec.index, table.cast(arrow_schema(self.schema)), report)
        _failpoint("sample")

    def _get_aligner(self) -> Any:
        if self._aligner is None:
            from samplegen.align import get_aligner

            _failpoint("align")
            t0 = time.perf_counter()
            self._aligner = _reused(
                f"aligner {self.align}", (*self._train_key(), self.seed),
                lambda: get_aligner(self.align).fit(self.train, self.schema, seed=self.seed))
            self.timings["align_fit_s"] = time.perf_counter() - t0
        return self._aligner

    def _train_key(self) -> tuple:
        return (self.config["train_fingerprint"], self.config["schema"])

    # ----------------------------------------------------------- finalize
    def _finalize(self) -> dict[str, Any]:
        if not self.rd.claim(_FINALIZE):
            while True:  # another worker finalizes; wait for its manifest
                m = self.rd.read_manifest() or {}
                if m.get("status") in ("complete", "short") or not self.rd.locked(_FINALIZE):
                    if m.get("status") in ("complete", "short"):
                        return m
                    if self.rd.claim(_FINALIZE):
                        break
                time.sleep(0.2)
        try:
            return self._finalize_locked()
        finally:
            self.rd.release(_FINALIZE)

    def _scan(self) -> tuple[dict[int, np.ndarray], dict[int, dict[str, Any]], Counter]:
        keep: dict[int, np.ndarray] = {}
        reports: dict[int, dict[str, Any]] = {}
        have: Counter = Counter()
        first: set[int] = set()
        for idx in self.rd.done():
            reports[idx] = self.rd.chunk_report(idx)
            h = self._chunk_hashes(idx)
            if self.gen.allow_duplicates:
                mask = np.ones(len(h), dtype=bool)
            else:
                mask = np.zeros(len(h), dtype=bool)
                for i, x in enumerate(h.tolist()):
                    if x not in first:
                        first.add(x)
                        mask[i] = True
            keep[idx] = mask
            have[reports[idx].get("target", 0)] += int(mask.sum())
        return keep, reports, have

    def _finalize_locked(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        dead: set[int] = set()  # targets whose top-up produced nothing: patience is spent
        for _ in range(MAX_TOPUP_ROUNDS):
            keep, reports, have = self._scan()
            short = {t: tg.n - have[t] for t, tg in enumerate(self.targets)
                     if have[t] < tg.n and t not in dead}
            if not short:
                break
            seen = self._seen(None, keep)
            for t, k in short.items():
                nxt = max(self.rd.done(), default=-1) + 1
                self._make_chunk(ChunkSpec(nxt, t, k), before=None, seen=seen)
                if self.rd.chunk_report(nxt).get("produced", 0) == 0:
                    dead.add(t)
        keep, reports, have = self._scan()
        _failpoint("merge")
        frames = (self.rd.read_chunk(i).loc[keep[i]] for i in self.rd.done())
        written = self.rd.write_merged(frames, arrow_schema(self.schema))
        dups = sum(int((~m).sum()) for m in keep.values())
        counts = chunk_counts(reports, dups, written, sum(t.n for t in self.targets))
        self.rd.write_rejects(chunk_rejects(reports))
        self.timings["finalize_s"] = time.perf_counter() - t0
        workers = Counter(str(r.get("pid")) for r in reports.values())
        status = "complete" if written == counts["requested"] else "short"
        manifest = self._manifest(
            status, counts=counts,
            per_target=[{"conditions": tg.conditions, "requested": tg.n, "written": have[t]}
                        for t, tg in enumerate(self.targets)],
            chunks={"planned": len(self.plan), "written": len(reports),
                    "top_up": len(reports) - len(self.plan), "by_worker_pid": dict(workers)},
            timings={**{k: round(v, 4) for k, v in self.timings.items()},
                     "chunk_seconds_total": round(sum(r.get("seconds", 0)
                                                      for r in reports.values()), 4)},
            align=None if not self.align else {
                "method": self.align, "pool_factor": ALIGN_POOL_FACTOR, "unit": "chunk",
                "reports": [r.get("align") for r in reports.values()]},
            level=self._level(),
            files={"synthetic": "synthetic.parquet", "rejects": "rejects.jsonl",
                   "schema": "schema.json", "fit_rows": "fit_rows.npz", "chunks": "chunks/",
                   **({"model": "model/"} if self.keep_model else {})},
        )
        self.rd.write_manifest(manifest)
        if status == "short":
            log.warning("run %s wrote %d of %d rows: the generator ran out of patience",
                        self.rd.path, written, counts["requested"])
        return manifest


def _failpoint(name: str) -> None:
    """Send this process the signal that ``SAMPLEGEN_FAILPOINT=name:SIGNAL`` names (once)."""
    spec = os.environ.get("SAMPLEGEN_FAILPOINT", "")
    point, _, sig = spec.partition(":")
    if point != name:
        return
    import signal

    del os.environ["SAMPLEGEN_FAILPOINT"]
    log.warning("failpoint %s: sending %s to this process", name, sig or "SIGKILL")
    os.kill(os.getpid(), getattr(signal, sig or "SIGKILL"))
    time.sleep(0.5)  # a handled signal raises here


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _not_selected(pool: pd.DataFrame, kept: pd.DataFrame, schema: Schema,
                  k: int = 20) -> list[dict[str, Any]]:
    """Up to ``k`` pool rows that the aligner dropped, as rejects.jsonl examples."""
    from samplegen.rundir import json_default

    h_kept = set(row_hashes(normalize(kept, schema), schema).tolist())
    h_pool = row_hashes(normalize(pool.reset_index(drop=True), schema), schema)
    idx = [i for i, h in enumerate(h_pool.tolist()) if h not in h_kept][:k]
    rows = pool.reset_index(drop=True).iloc[idx][schema.names]
    return [{"reason": "not_selected_by_aligner",
             "row": json.loads(json.dumps(r, default=json_default))}
            for r in rows.to_dict(orient="records")]


def _worker_entry(kwargs: dict[str, Any]) -> None:
    from samplegen.pipeline import generate

    generate(**kwargs)


__all__ = ["Run", "arrow_schema", "package_versions"]
