"""One ESMM run: encode, (sub-sample non-clicks), train, predict, evaluate, save."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from downstream.data import FeatureEncoder, subsample_nonclicks
from downstream.metrics import evaluate
from downstream.models import ESMM, ESMMConfig
from downstream.trainer import History, TrainConfig, Trainer, read_checkpoint, save_checkpoint
from samplegen.errors import UsageError
from samplegen.schema import Schema

__all__ = ["ModelOptions", "FittedESMM", "fit_esmm", "load_esmm", "auto_neg_rate"]

log = logging.getLogger(__name__)


@dataclass
class ModelOptions:
    """Model sizes and variant flags (see :class:`downstream.models.ESMMConfig`)
    plus data options: ``neg_rate`` keeps that share of non-clicked training rows
    (clicks up-sampled by k = 1/neg_rate, corrected at evaluation; ``None`` picks
    :func:`auto_neg_rate`); ``numeric``
    is ``"normalize"`` or ``"bucketize"``; ``aux`` turns on every auxiliary label
    of the schema."""

    embed_dim: int = 16
    tower: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.0
    aux: bool = False
    aux_weight: float = 1.0
    rank_alpha: float = 0.0
    rank_target: str = "cvr"
    guard_no_positive: bool = False
    route: bool = False
    nise: bool = False
    nise_alpha: float = 0.1
    nise_beta: float = 1.0
    global_mode: str = "none"
    domain_indicator: bool = False
    neg_rate: float | None = 1.0
    numeric: str = "normalize"
    min_count: int = 1
    synthetic_rows: str = "all"
    synthetic_bias: bool = False

    def model_config(self, encoder: FeatureEncoder) -> ESMMConfig:
        return ESMMConfig(
            cardinalities=encoder.cardinalities, n_numeric=len(encoder.num_columns),
            embed_dim=self.embed_dim, tower=list(self.tower), dropout=self.dropout,
            aux_labels=list(encoder.aux) if self.aux else [], aux_weight=self.aux_weight,
            rank_alpha=self.rank_alpha, rank_target=self.rank_target,
            guard_no_positive=self.guard_no_positive, route=self.route, nise=self.nise,
            nise_alpha=self.nise_alpha, nise_beta=self.nise_beta,
            global_mode=self.global_mode, domain_indicator=self.domain_indicator,
            synthetic_rows=self.synthetic_rows, synthetic_bias=self.synthetic_bias)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelOptions:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise UsageError(f"unknown model option(s) {sorted(unknown)}; known: {sorted(names)}.")
        return cls(**d)


@dataclass
class FittedESMM:
    """A trained model with its encoder and the click up-sampling factor."""

    encoder: FeatureEncoder
    trainer: Trainer
    k_click: float
    history: History

    @property
    def model(self) -> ESMM:
        return self.trainer.model  # type: ignore[return-value]

    def predict(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Raw model outputs (pCTR not corrected for up-sampling) for ``df``'s rows."""
        return self.trainer.predict(self.encoder.transform(df))

    def evaluate(self, df: pd.DataFrame, *, targets: list[str] | None = None,
                 oracle: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
        """Every protocol metric on ``df`` (see :func:`downstream.metrics.evaluate`)."""
        table = self.encoder.transform(df)
        return evaluate(self.trainer.predict(table), table, targets=targets, oracle=oracle,
                        k_click=self.k_click)

    def save(self, directory: str | Path) -> Path:
        """Checkpoint: ``model.safetensors`` plus ``config.json`` (model, encoder, training)."""
        cfg = {"encoder": self.encoder.to_dict(), "k_click": self.k_click,
               "train": self.trainer.config.__dict__}
        return save_checkpoint(directory, self.model, cfg)


def fit_esmm(train: pd.DataFrame, schema: Schema, *, valid: pd.DataFrame | None = None,
             options: ModelOptions | None = None, train_config: TrainConfig | None = None,
             ) -> FittedESMM:
    """Fit the encoder on ``train`` and train ESMM; early stopping on ``valid``.

    Non-clicked training rows are sub-sampled at ``options.neg_rate`` with the
    training seed; validation rows are never sub-sampled.
    """
    opts = options or ModelOptions()
    tc = train_config or TrainConfig()
    if schema.click is None or schema.click not in train.columns:
        raise UsageError("the training table has no click column. Fix: name it with --click "
                         "or role: click in the schema file.")
    rate = opts.neg_rate if opts.neg_rate is not None else auto_neg_rate(train, schema.click)
    sub = subsample_nonclicks(train, schema.click, rate, seed=tc.seed)
    encoder = FeatureEncoder(numeric=opts.numeric, min_count=opts.min_count).fit(sub, schema)
    with torch.random.fork_rng(devices=[]):  # initial weights seeded locally
        torch.random.manual_seed(tc.seed)
        model = ESMM(opts.model_config(encoder))
    trainer = Trainer(model, tc)
    vt = None
    if valid is not None and len(valid):
        # early stopping compares losses under the training distribution: the
        # validation rows get the same non-click sampling (test rows never do)
        vt = encoder.transform(subsample_nonclicks(valid, schema.click, rate, seed=tc.seed + 1))
    hist = trainer.fit(encoder.transform(sub), vt)
    log.info("trained on %d rows (%.0f samples/s)", len(sub), hist.samples_per_s)
    return FittedESMM(encoder, trainer, 1.0 / rate, hist)


def auto_neg_rate(train: pd.DataFrame, click: str, ratio: float = 4.0,
                  min_rows: int = 200_000) -> float:
    """Non-click sampling rate keeping about ``ratio`` non-clicks per click, for
    tables of at least ``min_rows`` rows (1.0 below that)."""
    n = len(train)
    clicks = int(pd.to_numeric(train[click], errors="coerce").fillna(0).sum())
    if n < min_rows or clicks == 0 or clicks == n:
        return 1.0
    return float(min(1.0, ratio * clicks / (n - clicks)))


def load_esmm(directory: str | Path) -> FittedESMM:
    """Reload a checkpoint written by :meth:`FittedESMM.save`."""
    state, cfg = read_checkpoint(directory)
    model = ESMM(ESMMConfig(**cfg["model"]))
    model.load_state_dict(state)
    tc = TrainConfig(**cfg["train"])
    return FittedESMM(FeatureEncoder.from_dict(cfg["encoder"]), Trainer(model, tc),
                      float(cfg["k_click"]), History())
