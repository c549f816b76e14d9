"""SDV baselines: GaussianCopula, CTGAN, TVAE and CopulaGAN behind the Generator contract.

What they fit on: the *clicked* training rows (positives and clicked
non-converted rows), not all impressions; the asked positives are a small
slice of that, and a model of all impressions would spend itself on
non-clicks. The fit note in the manifest says so.

Conditions use SDV's conditional sampling (``Condition``). When SDV cannot
produce rows for a condition (a category with too few clicked rows), the
generator samples conditioned on the remaining conditions (the labels) and
forces the category columns, leaving entity attributes to the entity-catalog
check (reuse a real item of the category, or reject); a sample note records it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import sys
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen.errors import GeneratorError
from samplegen.generators.base import Generator
from samplegen.generators.registry import register_generator
from samplegen.schema import ColumnType, Role, Schema

__all__ = ["SDVGenerator", "GaussianCopulaGenerator", "CTGANGenerator", "TVAEGenerator",
           "CopulaGANGenerator", "schema_to_metadata"]

log = logging.getLogger(__name__)
_TABLE = "t"
_PROBE, _PROBE_SEED, _PROBE_TRIES = 20, 12345, 3


def id_columns(schema: Schema, table: pd.DataFrame, max_key_categories: int) -> list[str]:
    """Columns not worth modelling: row ids and entity keys with many values.

    They are left out of the SDV model; keys are filled by the entity-catalog
    step (a real entity with the sampled attributes), row ids with fresh values.
    """
    return [c.name for c in schema.columns
            if (c.role == Role.ID and not c.key)
            or (c.key and table[c.name].nunique() > max_key_categories)]


def _no_usage_log() -> None:
    """SDV copies a usage-log config into ``~/.local/share/sdv`` (platformdirs) when it is
    imported and whenever it makes a logger, then logs nothing with it (its
    ``log_registry`` is null). Import it with that folder pointed into samplegen's cache,
    then skip the copy: same behaviour, no file in the home folder. Call before any
    ``import sdv...``."""
    if "sdv" not in sys.modules:
        from samplegen.cache import cache_dir

        old = os.environ.get("XDG_DATA_HOME")
        os.environ["XDG_DATA_HOME"] = str(cache_dir("sdv"))
        try:
            import sdv.logging.logger  # noqa: F401 - imports every synthesizer module
        finally:
            if old is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old
    import sdv.logging.logger as sdv_logger

    if getattr(sdv_logger.get_sdv_logger_config, "__module__", "") != __name__:
        sdv_logger.get_sdv_logger_config = _empty_logger_config


def _empty_logger_config() -> dict[str, Any]:
    return {}


def schema_to_metadata(schema: Schema, table: pd.DataFrame, *, skip: list[str] | None = None,
                       ) -> Any:
    """SDV ``Metadata`` from our schema (SDV's own detection guesses PII types)."""
    _no_usage_log()
    from sdv.metadata import Metadata

    cols: dict[str, dict[str, Any]] = {}
    for c in schema.columns:
        if c.name in (skip or []):
            continue
        if c.is_label or c.type == ColumnType.CATEGORICAL:
            cols[c.name] = {"sdtype": "categorical"}
        elif c.type == ColumnType.DATETIME:
            cols[c.name] = {"sdtype": "datetime"}
        else:
            cols[c.name] = {"sdtype": "numerical"}
    return Metadata.load_from_dict({"tables": {_TABLE: {"columns": cols}}})


@contextlib.contextmanager
def _quiet_seeded(seed: int | None) -> Iterator[None]:
    """Silence SDV's warnings/progress bars; seed the global RNGs SDV and torch use and
    restore them afterwards, so no caller sees its global state changed."""
    import torch

    np_state, py_state, t_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    if seed is not None:
        np.random.seed(seed)
        random.seed(seed)
        torch.manual_seed(seed)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        torch.set_rng_state(t_state)


class SDVGenerator(Generator):
    """Wraps one SDV single-table synthesizer."""

    synthesizer: ClassVar[str] = ""
    default_params: ClassVar[dict[str, Any]] = {"max_tries_per_batch": 10,
                                                "max_key_categories": 200}

    @classmethod
    def _before_load(cls) -> None:
        _no_usage_log()

    def _make(self, metadata: Any) -> Any:
        _no_usage_log()
        import sdv.single_table as st

        kw = {k: v for k, v in self.params.items()
              if k not in ("batch_size", "patience", "max_tries_per_batch", "max_key_categories")
              and v is not None}
        return getattr(st, self.synthesizer)(metadata, **kw)

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        ck = schema.click
        fit = table.loc[table[ck] == 1] if ck and (table[ck] == 1).sum() >= 10 else table
        self.fit_on_slice = len(fit) < len(table)
        self.fit_note = (f"fitted on the {len(fit)} clicked training rows (of {len(table)})"
                         if self.fit_on_slice else f"fitted on all {len(fit)} training rows "
                         "(fewer than 10 clicked rows)")
        self._ids = id_columns(schema, fit, int(self.params["max_key_categories"]))
        fit = fit.drop(columns=self._ids).reset_index(drop=True)
        self._modes: dict[str, str] = {}
        meta = schema_to_metadata(schema, fit, skip=self._ids)
        with _quiet_seeded(seed):
            self._synth = self._make(meta)
            try:
                self._synth.fit({_TABLE: fit})
            except Exception as e:  # SDV raises many types; name them for the user
                raise GeneratorError(f"{self.name}: SDV could not fit the table: {e}") from e
        self._label_cols = set(schema.labels)

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        seed = int(rng.integers(2**31 - 1))
        cols = self._mode(conditions)
        sub = {k: conditions[k] for k in cols}
        out = self._conditional(n, sub, seed) if sub else None
        if out is None or len(out) == 0:
            out = self._plain(n, seed)
        for k, v in conditions.items():
            out[k] = v
        return self._fill_ids(out, seed)

    def _mode(self, conditions: dict[str, Any]) -> tuple[str, ...]:
        """Condition columns SDV can sample on, probed once per condition set with a fixed
        seed (so the choice never depends on earlier calls): all of them, else the labels,
        else click only, else none; the rest is forced after sampling (and noted)."""
        key = self.condition_key(conditions)
        if key in self._modes:
            return self._modes[key]
        assert self.schema is not None
        labels = [c for c in (self.schema.click, self.schema.conversion) if c in conditions]
        options: list[tuple[str, ...]] = []
        for cols in (tuple(conditions), tuple(labels), tuple(labels[:1]), ()):
            if cols not in options:
                options.append(cols)
        mode: tuple[str, ...] = ()
        for cols in options:
            if not cols:
                break
            out = self._conditional(_PROBE, {k: conditions[k] for k in cols}, _PROBE_SEED,
                                    tries=_PROBE_TRIES)
            if out is not None and len(out) >= _PROBE // 2:
                mode = cols
                break
        self._modes[key] = mode
        if set(mode) != set(conditions):
            forced = [k for k in conditions if k not in mode]
            self.sample_notes[key] = (f"SDV conditional sampling on {list(mode)} (the full "
                                      f"conditions are too rare in the model); {forced} set "
                                      "after sampling, entities re-matched by the catalog")
        return mode

    def _fill_ids(self, out: pd.DataFrame, seed: int) -> pd.DataFrame:
        assert self.schema is not None
        for c in self._ids:
            out[c] = None if self.schema[c].key else [f"syn-{seed:x}-{i}" for i in range(len(out))]
        return out

    def _plain(self, n: int, seed: int) -> pd.DataFrame:
        with _quiet_seeded(None):
            self._synth.reset_sampling()
            self._synth._set_random_state(seed)
            out = self._synth.sample(num_rows=n)
        return out[_TABLE] if isinstance(out, dict) else out

    def _conditional(self, n: int, conditions: dict[str, Any], seed: int,
                     tries: int | None = None) -> pd.DataFrame | None:
        from sdv.sampling import Condition

        with _quiet_seeded(None):
            self._synth.reset_sampling()
            self._synth._set_random_state(seed)
            try:
                out = self._synth.sample_from_conditions(
                    [Condition(column_values=dict(conditions), num_rows=n)],
                    max_tries_per_batch=tries or int(self.params["max_tries_per_batch"]))
            except Exception as e:  # noqa: BLE001 - "unable to sample" is a ValueError or worse
                log.info("%s: conditional sampling failed for %s: %s", self.name, conditions, e)
                return None
        return out[_TABLE] if isinstance(out, dict) else out


@register_generator("sdv-gaussian-copula")
class GaussianCopulaGenerator(SDVGenerator):
    """SDV GaussianCopulaSynthesizer."""

    synthesizer = "GaussianCopulaSynthesizer"
    default_params = {**SDVGenerator.default_params, "default_distribution": None}


_NEURAL = {**SDVGenerator.default_params, "epochs": 100, "batch_size_train": None}


class _NeuralSDV(SDVGenerator):
    """CTGAN/TVAE-family: ``epochs`` and an optional training batch size."""

    default_params = _NEURAL

    def _make(self, metadata: Any) -> Any:
        _no_usage_log()
        import sdv.single_table as st

        kw: dict[str, Any] = {"epochs": int(self.params["epochs"])}
        if self.params.get("batch_size_train"):
            kw["batch_size"] = int(self.params["batch_size_train"])
        return getattr(st, self.synthesizer)(metadata, **kw)

    def _fit_progress(self) -> tuple[int | None, Any]:
        return int(self.params["epochs"]), self._epochs_done

    def _epochs_done(self) -> int | None:
        """Epochs finished so far (ctgan appends one block of losses per epoch)."""
        model = getattr(getattr(self, "_synth", None), "_model", None)
        losses = getattr(model, "loss_values", None)
        if losses is None or len(losses) == 0:
            return None
        return int(losses["Epoch"].max()) + 1


@register_generator("sdv-ctgan")
class CTGANGenerator(_NeuralSDV):
    """SDV CTGANSynthesizer."""

    synthesizer = "CTGANSynthesizer"


@register_generator("sdv-tvae")
class TVAEGenerator(_NeuralSDV):
    """SDV TVAESynthesizer."""

    synthesizer = "TVAESynthesizer"


@register_generator("sdv-copulagan")
class CopulaGANGenerator(_NeuralSDV):
    """SDV CopulaGANSynthesizer."""

    synthesizer = "CopulaGANSynthesizer"
