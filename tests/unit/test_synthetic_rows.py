"""Where synthetic rows enter ESMM (issue 17): soft CVR labels, a CVR-only path,
a train-only provenance bias."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from downstream.losses import weighted_bce, weighted_bce_logits
from downstream.models import ESMM, ESMMConfig
from samplegen.errors import UsageError


def _batch(conv: list[float], syn: list[float] | None = None) -> dict[str, torch.Tensor]:
    n = len(conv)
    g = torch.Generator().manual_seed(1)
    click = torch.tensor([1.0, 0, 1, 0, 1, 0, 1, 1][:n])
    c = torch.tensor(conv) * click
    return {"cat": torch.randint(0, 5, (n, 3), generator=g), "num": torch.randn(n, 2, generator=g),
            "click": click, "conversion": c, "ctcvr": c, "weight": torch.ones(n),
            "domain": torch.zeros(n, dtype=torch.long), "global": torch.zeros(n),
            "is_synthetic": torch.tensor(syn if syn is not None else [0.0] * n)}


def _model(**kw) -> ESMM:
    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(0)
        return ESMM(ESMMConfig([5, 5, 5], 2, embed_dim=4, tower=[8], **kw))


def test_soft_label_loss_equals_bce_on_hard_labels() -> None:
    logit = torch.tensor([-1.0, 0.3, 2.0, -0.2])
    hard = torch.tensor([0.0, 1.0, 1.0, 0.0])
    assert float(weighted_bce_logits(logit, hard)) == pytest.approx(
        float(F.binary_cross_entropy(torch.sigmoid(logit), hard)), rel=1e-6)
    assert float(weighted_bce(torch.sigmoid(logit), hard)) == pytest.approx(
        float(F.binary_cross_entropy(torch.sigmoid(logit), hard)), rel=1e-5)


@pytest.mark.parametrize("variant", [{}, {"synthetic_rows": "cvr"}])
def test_esmm_loss_is_affine_in_a_soft_conversion_label(variant: dict) -> None:
    """A soft label q gives q * loss(label 1) + (1 - q) * loss(label 0)."""
    m = _model(**variant)
    base = [1.0, 0, 0, 0, 1, 0, 0, 0]
    syn = [0.0] * 7 + [1.0]
    losses = {}
    for q in (0.0, 0.3, 1.0):
        b = _batch(base[:7] + [q], syn)
        losses[q] = float(m.loss(b, m(b))["loss"].detach())
    assert losses[0.3] == pytest.approx(0.3 * losses[1.0] + 0.7 * losses[0.0], rel=1e-5)
    assert losses[1.0] != pytest.approx(losses[0.0])


def test_cvr_only_synthetic_rows_never_touch_ctr_or_ctcvr() -> None:
    m = _model(synthetic_rows="cvr")
    syn = [0.0] * 6 + [1.0, 1.0]
    a, b = _batch([1.0, 0, 0, 0, 1, 0, 1, 1], syn), _batch([1.0, 0, 0, 0, 1, 0, 0, 0], syn)
    ta, tb = m.loss(a, m(a)), m.loss(b, m(b))
    assert float(ta["ctr"]) == float(tb["ctr"]) and float(ta["ctcvr"]) == float(tb["ctcvr"])
    assert float(ta["synthetic_cvr"]) != float(tb["synthetic_cvr"])
    ctr_params = list(m.ctr_tower.parameters())
    g = torch.autograd.grad(ta["synthetic_cvr"], ctr_params, allow_unused=True)
    assert all(x is None or torch.count_nonzero(x) == 0 for x in g)
    # with no synthetic row the CVR-only option is today's loss exactly
    plain = _model()
    r = _batch([1.0, 0, 0, 0, 1, 0, 0, 0])
    assert float(m.loss(r, m(r))["loss"]) == pytest.approx(float(plain.loss(r, plain(r))["loss"]))


def test_synthetic_bias_is_training_only() -> None:
    m = _model(synthetic_bias=True)
    with torch.no_grad():
        m.synthetic_bias.fill_(3.0)
    b = _batch([1.0, 0, 0, 0, 1, 0, 0, 0], [0.0] * 7 + [1.0])
    m.train()
    p_train = m(b)["p_cvr"]
    m.eval()
    p_eval = m(b)["p_cvr"]
    assert torch.equal(p_train[:7], p_eval[:7]) and p_train[7] > p_eval[7]
    b0 = dict(b, is_synthetic=torch.zeros(8))
    assert torch.equal(m(b0)["p_cvr"], p_eval)


def test_bad_synthetic_rows_option() -> None:
    with pytest.raises(UsageError):
        ESMMConfig([5], synthetic_rows="ctr")
