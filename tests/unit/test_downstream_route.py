"""Fliggy's dynamic route: a batch without a positive never moves the positive
branch (through the real Trainer and its Adam, momentum and weight decay
included), and the score is that branch's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from downstream.models import ESMM, ESMMConfig
from downstream.trainer import TrainConfig, Trainer


def _batch(seed: int, conv: list[float]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n = len(conv)
    click = torch.tensor([1.0, 0.0] * (n // 2))
    conversion = torch.tensor(conv) * click
    return {"cat": torch.randint(0, 5, (n, 3), generator=g), "num": torch.randn(n, 2, generator=g),
            "click": click, "conversion": conversion, "ctcvr": click * conversion,
            "weight": torch.ones(n), "domain": torch.zeros(n, dtype=torch.long),
            "global": torch.zeros(n), "aux:same": conversion.clone(),
            "is_synthetic": torch.zeros(n)}


POS = _batch(1, [1, 0, 0, 0, 1, 0, 0, 0.0])
NEG = _batch(2, [0.0] * 8)


def _model(**kw) -> ESMM:
    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(0)
        return ESMM(ESMMConfig([5, 5, 5], 2, embed_dim=4, tower=[8], route=True,
                               aux_labels=["same"], **kw))


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kw", [{}, {"rank_alpha": 0.5, "nise": True}])
def test_batch_without_positive_leaves_positive_branch_unchanged(kw) -> None:
    model = _model(**kw)
    snaps: list[tuple[dict, dict, dict]] = []

    def batches() -> Iterator[dict[str, torch.Tensor]]:
        # the trainer asks for batch i+1 only after its step on batch i
        for b in (POS, NEG, NEG, POS, NEG):
            snaps.append((_state(model.cvr_tower), _state(model.cvr_tower_neg),
                          _state(model.embedding)))
            yield b
        snaps.append((_state(model.cvr_tower), _state(model.cvr_tower_neg),
                      _state(model.embedding)))

    tc = TrainConfig(epochs=1, lr=0.05, weight_decay=0.01, threads=1, device="cpu")
    Trainer(model, tc).fit(batches())
    assert len(snaps) == 6
    for i, kind in enumerate(["pos", "neg", "neg", "pos", "neg"]):
        (pos0, neg0, emb0), (pos1, neg1, emb1) = snaps[i], snaps[i + 1]
        assert not _same(emb0, emb1)  # the shared embedding learns from every batch
        if kind == "neg":  # Adam has momentum for the positive branch after step 1
            assert _same(pos0, pos1), f"step {i}: a batch without a positive moved it"
            assert not _same(neg0, neg1)
        else:
            assert not _same(pos0, pos1)
            assert _same(neg0, neg1)
    assert model.route_counts == {"positive": 2, "negative": 3}


def test_score_comes_from_positive_branch() -> None:
    model = _model()
    model.eval()
    before = model(NEG)["p_cvr"].clone()
    with torch.no_grad():
        for p in model.cvr_tower_neg.parameters():
            p.add_(1.0)
    assert torch.equal(model(NEG)["p_cvr"], before)  # the negative branch is never scored
    with torch.no_grad():
        x = model.embedding(NEG["cat"] + model.offsets).flatten(1)
        expected = torch.sigmoid(model.cvr_tower(torch.cat([x, NEG["num"]], 1)))
    assert torch.equal(model(NEG)["p_cvr"], expected)
    out = model(POS)
    assert torch.equal(out["p_ctcvr"], out["p_ctr"] * out["p_cvr"])
    # in training a batch without a positive uses the other branch
    model.train()
    assert not torch.equal(model(NEG)["p_cvr"], before)
    assert torch.equal(model(POS)["p_cvr"], model.eval()(POS)["p_cvr"])


def test_route_off_has_one_branch() -> None:
    with torch.random.fork_rng(devices=[]):
        m = ESMM(ESMMConfig([5, 5, 5], 2, embed_dim=4, tower=[8]))
    assert m.cvr_tower_neg is None
    assert not any(k.startswith("cvr_tower_neg") for k in m.state_dict())


def test_routed_checkpoint_round_trip(tmp_path) -> None:
    from downstream.trainer import read_checkpoint, save_checkpoint

    model = _model().eval()
    save_checkpoint(tmp_path, model, {})
    state, cfg = read_checkpoint(tmp_path)
    assert cfg["model"]["route"] is True
    again = ESMM(ESMMConfig(**cfg["model"]))
    again.load_state_dict(state)  # strict: both branches are saved
    again.eval()
    assert torch.equal(again(POS)["p_cvr"], model(POS)["p_cvr"])


def test_ddp_refuses_the_route() -> None:
    import pandas as pd

    from downstream.ddp import train_distributed
    from downstream.fit import ModelOptions
    from samplegen.errors import UsageError
    from tests.downstream_toy import toy_source

    src = toy_source(50)
    with pytest.raises(UsageError, match="single-process"):
        train_distributed(pd.DataFrame(src.table), src.schema, options=ModelOptions(route=True))
