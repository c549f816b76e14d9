"""ESMM training under torch DistributedDataParallel (``torchrun``).

Each process encodes the same training rows with the same encoder, takes every
``world``-th row of a shared seeded permutation (equal batch counts), and DDP
averages gradients (gloo on CPU, nccl on GPU). Validation runs on every rank with
identical weights, so early stopping decides the same everywhere. Rank 0 writes
the checkpoint.

Run on one machine with two processes::

    torchrun --nproc_per_node 2 -m downstream.ddp --train train.parquet \\
        --valid valid.parquet --schema schema.json --out ckpt/ --epochs 3

and across machines with torchrun's usual ``--nnodes/--node_rank/--rdzv_endpoint``.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from downstream.data import FeatureEncoder, subsample_nonclicks
from downstream.fit import FittedESMM, ModelOptions, auto_neg_rate
from downstream.models import ESMM
from downstream.trainer import TrainConfig, Trainer
from samplegen.errors import UsageError
from samplegen.schema import Schema

__all__ = ["train_distributed", "main"]

log = logging.getLogger(__name__)


def train_distributed(train: pd.DataFrame, schema: Schema, *, valid: pd.DataFrame | None = None,
                      options: ModelOptions | None = None,
                      train_config: TrainConfig | None = None,
                      backend: str | None = None) -> FittedESMM:
    """Train ESMM with DDP in the current process group (initialised from the
    ``torchrun`` environment when not yet initialised). Returns this rank's model
    (identical on every rank)."""
    opts = options or ModelOptions()
    if opts.route:
        raise UsageError("route=True is single-process: DDP ranks would take different CVR "
                         "branches in one step. Fix: train without DDP or with route=False.")
    tc = train_config or TrainConfig()
    own_group = not dist.is_initialized()
    if own_group:
        use_cuda = torch.cuda.is_available() and (tc.device in (None, "cuda"))
        dist.init_process_group(backend or ("nccl" if use_cuda else "gloo"))
    rank, world = dist.get_rank(), dist.get_world_size()
    if tc.device is None:
        tc = TrainConfig(**{**tc.__dict__, "device": _device(rank)})
    rate = opts.neg_rate if opts.neg_rate is not None else auto_neg_rate(train, schema.click or "")
    sub = subsample_nonclicks(train, schema.click or "", rate, seed=tc.seed)
    encoder = FeatureEncoder(numeric=opts.numeric, min_count=opts.min_count).fit(sub, schema)
    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(tc.seed)
        model = ESMM(opts.model_config(encoder))
    trainer = Trainer(model, tc)
    dev = trainer.device

    def wrap(m: torch.nn.Module) -> torch.nn.Module:
        return DistributedDataParallel(m, device_ids=[dev.index] if dev.type == "cuda" else None)

    vt = None
    if valid is not None and len(valid):
        vt = encoder.transform(subsample_nonclicks(valid, schema.click or "", rate, tc.seed + 1))
    table = encoder.transform(sub)
    if dev.type == "cuda":
        table.tensors = {k: v.to(dev) for k, v in table.tensors.items()}
    hist = trainer.fit(table, vt, wrap=wrap, shard=(rank, world))
    hist.samples *= world  # every rank saw its shard; the throughput is global
    fitted = FittedESMM(encoder, trainer, 1.0 / rate, hist)
    if own_group:
        dist.barrier()
    return fitted


def _device(rank: int) -> str:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local % torch.cuda.device_count())
        return f"cuda:{local % torch.cuda.device_count()}"
    return "cpu"


def main(argv: list[str] | None = None) -> None:
    """``torchrun ... -m downstream.ddp`` entry point."""
    ap = argparse.ArgumentParser(prog="downstream.ddp", description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True, help="Parquet/CSV of training rows")
    ap.add_argument("--valid", help="Parquet/CSV of validation rows")
    ap.add_argument("--schema", required=True, help="schema.json (Schema.save)")
    ap.add_argument("--out", required=True, help="checkpoint directory (rank 0 writes)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--neg-rate", type=float, default=1.0)
    args = ap.parse_args(argv)
    from downstream.adapters import read_table

    schema = Schema.load(args.schema)
    train = schema.coerce(read_table(args.train))
    valid = schema.coerce(read_table(args.valid)) if args.valid else None
    tc = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    fitted = train_distributed(train, schema, valid=valid,
                               options=ModelOptions(neg_rate=args.neg_rate), train_config=tc)
    if dist.get_rank() == 0:
        fitted.save(Path(args.out))
        log.warning("rank 0: %d samples/s over %d processes; checkpoint in %s",
                    int(fitted.history.samples_per_s), dist.get_world_size(), args.out)
    dist.destroy_process_group()


if __name__ == "__main__":  # pragma: no cover
    main()
