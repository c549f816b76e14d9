"""Loss functions and the ESMM loss structure."""

from __future__ import annotations

import math

import pytest
import torch

from downstream.losses import (
    entropy_pseudo_label_loss,
    nise_lambda,
    pairwise_rank_loss,
    weighted_bce,
)
from downstream.models import ESMM, ESMMConfig


def test_rank_loss_exact() -> None:
    s = torch.tensor([2.0, 0.0, 1.0])
    y = torch.tensor([1.0, 0.0, 0.0])
    expected = (math.log1p(math.exp(-2)) + math.log1p(math.exp(-1))) / 2
    assert float(pairwise_rank_loss(s, y)) == pytest.approx(expected)
    w = torch.tensor([1.0, 3.0, 1.0])  # pair weights 3 and 1
    expected_w = (3 * math.log1p(math.exp(-2)) + math.log1p(math.exp(-1))) / 4
    assert float(pairwise_rank_loss(s, y, w)) == pytest.approx(expected_w)
    mask = torch.tensor([1.0, 1.0, 0.0])
    assert float(pairwise_rank_loss(s, y, mask=mask)) == pytest.approx(math.log1p(math.exp(-2)))


@pytest.mark.parametrize("labels", [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
def test_rank_loss_zero_without_pair(labels: list[float]) -> None:
    s = torch.tensor([2.0, 0.0, 1.0], requires_grad=True)
    loss = pairwise_rank_loss(s, torch.tensor(labels))
    assert float(loss.detach()) == 0.0 and not torch.isnan(loss.detach())
    loss.backward()
    assert torch.equal(s.grad, torch.zeros(3))


def test_bce_entropy_and_nise_lambda() -> None:
    p = torch.tensor([0.8, 0.5])
    y = torch.tensor([1.0, 0.0])
    w = torch.tensor([1.0, 3.0])
    assert float(weighted_bce(p, y, w)) == pytest.approx((-math.log(0.8) + 3 * math.log(2)) / 4)
    assert float(weighted_bce(p, y, mask=torch.zeros(2))) == 0.0
    assert float(entropy_pseudo_label_loss(torch.tensor([0.5]), torch.ones(1))) == \
        pytest.approx(math.log(2))
    lam = nise_lambda(torch.tensor(0.2), torch.tensor(0.1), alpha=0.5, beta=1.5)
    assert float(lam) == pytest.approx(0.75)
    lam = nise_lambda(torch.tensor(0.1), torch.tensor(0.2), alpha=0.5, beta=1.5)
    assert float(lam) == pytest.approx(0.25)


def _batch(n: int = 8, click=None, conv=None, domain=None) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    click = torch.tensor(click if click is not None else [1, 0, 1, 0, 1, 0, 0, 1.0])
    conv = torch.tensor(conv if conv is not None else [1, 0, 0, 0, 1, 0, 0, 0.0])
    return {"cat": torch.randint(0, 5, (n, 3), generator=g), "num": torch.randn(n, 2, generator=g),
            "click": click, "conversion": conv, "ctcvr": click * conv, "weight": torch.ones(n),
            "domain": torch.tensor(domain or [0] * n), "global": torch.zeros(n),
            "aux:same": conv.clone(), "is_synthetic": torch.zeros(n)}


def _model(**kw) -> ESMM:
    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(0)
        return ESMM(ESMMConfig([5, 5, 5], 2, embed_dim=4, tower=[8], **kw))


def test_cvr_tower_gets_no_direct_loss() -> None:
    m = _model()
    b = _batch()
    terms = m.loss(b, m(b))
    assert set(terms) == {"ctr", "ctcvr", "loss"}
    cvr_params = list(m.cvr_tower.parameters())
    g_ctr = torch.autograd.grad(terms["ctr"], cvr_params, retain_graph=True, allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in g_ctr)
    g_total = torch.autograd.grad(terms["loss"], cvr_params, retain_graph=True)
    g_ctcvr = torch.autograd.grad(terms["ctcvr"], cvr_params, retain_graph=True)
    for a, c in zip(g_total, g_ctcvr, strict=True):
        assert torch.allclose(a, c)
    assert any(torch.count_nonzero(g) > 0 for g in g_ctcvr)
    # a CTCVR-only loss still reaches the CVR tower through pCTR * pCVR, never otherwise
    out = m(b)
    out["p_ctcvr"] = out["p_ctr"].detach() * out["p_cvr"]
    assert m.loss(b, out)["ctcvr"].requires_grad


def test_variants_add_their_terms() -> None:
    b = _batch()
    m = _model(aux_labels=["same"], rank_alpha=0.5, nise=True)
    terms = m.loss(b, m(b))
    assert {"aux:same", "rank", "cvr", "pseudo", "nise_lambda"} <= set(terms)
    assert torch.isfinite(terms["loss"])


def test_guard_skips_batch_without_positive_and_rank_is_zero() -> None:
    b = _batch(conv=[0.0] * 8)
    m = _model(guard_no_positive=True, rank_alpha=1.0, aux_labels=["same"])
    terms = m.loss(b, m(b))
    assert float(terms["ctcvr"]) == 0.0
    assert float(terms["aux:same"]) == 0.0
    assert float(terms["rank"]) == 0.0
    assert float(terms["loss"]) == pytest.approx(float(terms["ctr"]))
    terms["loss"].backward()  # still differentiable


def test_global_head_trains_only_on_global_rows_and_domain_is_train_only() -> None:
    b = _batch(domain=[0, 0, 0, 0, 0, 0, 1, 1])
    b["global"] = torch.tensor([0, 0, 0, 0, 0, 0, 1.0, 0])
    m = _model(global_mode="head", domain_indicator=True)
    with torch.no_grad():
        m.domain_bias.weight.fill_(1.0)
    terms = m.loss(b, m(b))
    assert "global" in terms
    out_train = m(b)["p_ctr"]
    m.eval()
    b0 = dict(b, domain=torch.zeros(8, dtype=torch.long))
    assert torch.equal(m(b)["p_ctr"], m(b0)["p_ctr"])  # eval ignores the domain
    assert not torch.equal(out_train, m(b)["p_ctr"])
