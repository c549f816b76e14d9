"""ESMM under torch DDP: two CPU processes (gloo) end with identical weights; torchrun entry."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from downstream.ddp import train_distributed
    from downstream.fit import ModelOptions
    from downstream.trainer import TrainConfig
    from tests.downstream_toy import toy_source

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    src = toy_source(2000)
    fitted = train_distributed(src.table.iloc[:1600], src.schema, valid=src.table.iloc[1600:],
                               options=ModelOptions(aux=True, rank_alpha=0.2),
                               train_config=TrainConfig(epochs=2, batch_size=256, seed=3))
    state = {k: v.clone() for k, v in fitted.model.state_dict().items()}
    torch.save({"state": state, "loss": fitted.history.train_loss}, f"{out}/rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


def test_two_process_gloo_weights_identical(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    # each rank saw a different half of the rows, so local losses differ but are finite
    assert all(torch.isfinite(torch.tensor(r0["loss"] + r1["loss"])))
    assert r0["loss"] != r1["loss"]


@pytest.mark.slow
def test_torchrun_entry_point_writes_checkpoint(tmp_path: Path) -> None:
    from downstream.fit import load_esmm
    from tests.downstream_toy import toy_source

    src = toy_source(1500)
    src.table.iloc[:1200].to_parquet(tmp_path / "train.parquet")
    src.table.iloc[1200:].to_parquet(tmp_path / "valid.parquet")
    src.schema.save(tmp_path / "schema.json")
    tmp = tmp_path / "tmp"  # torchrun's torchelastic_* folders land here, not in /tmp
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "downstream.ddp",
           "--train", str(tmp_path / "train.parquet"), "--valid", str(tmp_path / "valid.parquet"),
           "--schema", str(tmp_path / "schema.json"), "--out", str(tmp_path / "ckpt"),
           "--epochs", "1", "--batch-size", "256"]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fitted = load_esmm(tmp_path / "ckpt")
    m = fitted.evaluate(src.table.iloc[1200:])
    assert 0.0 <= m["ctcvr_auc"]["value"] <= 1.0
