"""A small generic trainer: Adam, early stopping on validation loss, seeded, progress.

The trainer knows nothing about the model beyond two methods:
``model(batch) -> outputs`` and ``model.loss(batch, outputs) -> {"loss": ..., ...}``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from downstream.data import EncodedTable, iter_batches

__all__ = ["TrainConfig", "Trainer", "History", "save_checkpoint", "read_checkpoint",
           "default_device"]

log = logging.getLogger(__name__)


def default_device() -> str:
    """``"cuda"`` when a GPU is present, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class TrainConfig:
    """Optimisation settings (keyword-only in spirit; JSON-serialisable)."""

    epochs: int = 5
    batch_size: int = 2048
    lr: float = 2e-3
    weight_decay: float = 0.0
    patience: int = 1
    seed: int = 0
    device: str | None = None
    progress: bool = False
    eval_batch_size: int = 65536
    threads: int | None = None  # torch.set_num_threads (process-wide) when given


@dataclass
class History:
    """Per-epoch training and validation losses, the best epoch and timings."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    samples: int = 0
    seconds: float = 0.0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.nan


class Trainer:
    """Fits any module exposing ``forward(batch)`` and ``loss(batch, outputs)``."""

    def __init__(self, model: nn.Module, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        self.device = torch.device(self.config.device or default_device())
        self.model = model.to(self.device)
        self.history = History()

    # ----------------------------------------------------------------- public
    def fit(self, train: EncodedTable | Iterable[dict[str, torch.Tensor]],
            valid: EncodedTable | None = None, *,
            wrap: Callable[[nn.Module], nn.Module] | None = None,
            shard: tuple[int, int] | None = None) -> History:
        """Train for up to ``epochs``; with ``valid``, stop after ``patience`` epochs
        without a lower validation loss and restore the best weights.

        ``train`` is an :class:`EncodedTable` (shuffled by a seeded generator) or
        any iterable of batch dicts (e.g. :class:`downstream.adapters.ParquetBatches`).
        ``wrap`` wraps the model for the forward pass (e.g. DDP); ``shard`` is
        ``(rank, world)`` for distributed training.
        """
        if self.config.epochs < 1:
            from samplegen.errors import UsageError

            raise UsageError(f"epochs={self.config.epochs} must be >= 1.")
        return self._fit(train, valid, wrap, shard)

    @torch.no_grad()
    def predict(self, table: EncodedTable) -> dict[str, np.ndarray]:
        """Every ``p_*`` output of the model for the rows of ``table``, in order."""
        self.model.eval()
        parts: dict[str, list[np.ndarray]] = {}
        bs = self.config.eval_batch_size
        for start in range(0, len(table), bs):
            batch = self._to_device(table.take(slice(start, start + bs)))
            for k, v in self.model(batch).items():
                if k.startswith("p_"):
                    parts.setdefault(k, []).append(v.float().cpu().numpy())
        return {k: np.concatenate(v) for k, v in parts.items()}

    @torch.no_grad()
    def evaluate_loss(self, table: EncodedTable) -> dict[str, float]:
        """Row-weighted mean of every loss term over ``table`` (model in eval mode)."""
        self.model.eval()
        sums: dict[str, float] = {}
        n = 0
        bs = self.config.eval_batch_size
        for start in range(0, len(table), bs):
            batch = self._to_device(table.take(slice(start, start + bs)))
            terms = self.model.loss(batch, self.model(batch))
            m = len(batch["click"])
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * m
            n += m
        return {k: v / max(n, 1) for k, v in sums.items()}

    # ---------------------------------------------------------------- private
    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.device.type == "cpu":
            return batch
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _batches(self, train: Any, epoch: int, gen: torch.Generator,
                 shard: tuple[int, int] | None) -> Iterable[dict[str, torch.Tensor]]:
        if isinstance(train, EncodedTable):
            return iter_batches(train, self.config.batch_size, generator=gen, shard=shard)
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch)
        return train

    def _fit(self, train: Any, valid: EncodedTable | None,
             wrap: Callable[[nn.Module], nn.Module] | None,
             shard: tuple[int, int] | None) -> History:
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        gen = torch.Generator().manual_seed(cfg.seed)
        forward = wrap(self.model) if wrap else self.model
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        best, best_state, bad = math.inf, None, 0
        hist = self.history = History()
        t0 = time.perf_counter()
        for epoch in range(cfg.epochs):
            self.model.train()
            total, count = 0.0, 0
            batches = self._batches(train, epoch, gen, shard)
            n_batches = None
            if isinstance(train, EncodedTable):
                rows = len(train) // shard[1] if shard else len(train)
                n_batches = math.ceil(rows / cfg.batch_size)
            bar = _progress(batches, n_batches, f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress)
            for batch in bar:
                batch = self._to_device(batch)
                terms = self.model.loss(batch, forward(batch))
                # set_to_none: a parameter outside this step's graph (e.g. the
                # positive CVR branch of a routed ESMM on a batch without a
                # positive) keeps grad None, so Adam leaves it (and its momentum) alone
                opt.zero_grad(set_to_none=True)
                terms["loss"].backward()
                opt.step()
                m = len(batch["click"])
                total += float(terms["loss"].detach()) * m
                count += m
            hist.samples += count
            hist.train_loss.append(total / max(count, 1))
            if valid is None:
                hist.best_epoch = epoch
                continue
            vloss = self.evaluate_loss(valid)["loss"]
            hist.valid_loss.append(vloss)
            log.info("epoch %d: train loss %.5f, valid loss %.5f", epoch + 1,
                     hist.train_loss[-1], vloss)
            if vloss < best - 1e-6:
                best, bad, hist.best_epoch = vloss, 0, epoch
                best_state = copy.deepcopy(self.model.state_dict())
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
        hist.seconds = time.perf_counter() - t0
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return hist


def _progress(it: Iterable[Any], total: int | None, desc: str, enabled: bool) -> Iterable[Any]:
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, desc=desc, leave=False, unit="batch")


def save_checkpoint(directory: str | Path, model: nn.Module, config: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (``config`` plus the model's
    own ``config.to_dict()`` when it has one) into ``directory``."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / "model.safetensors"))
    full = dict(config)
    if hasattr(model, "config") and hasattr(model.config, "to_dict"):
        full.setdefault("model", model.config.to_dict())
    (d / "config.json").write_text(json.dumps(full, indent=2, default=_json))
    return d


def read_checkpoint(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict and config written by :func:`save_checkpoint`."""
    from safetensors.torch import load_file

    d = Path(directory)
    return load_file(str(d / "model.safetensors")), json.loads((d / "config.json").read_text())


def _json(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "__dataclass_fields__"):
        return asdict(o)
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    raise TypeError(type(o))
