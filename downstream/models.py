"""ESMM (Ma et al., SIGIR'18) and its variants, each a flag of :class:`ESMMConfig`.

Plain ESMM: a shared embedding feeds a CTR tower and a CVR tower;
pCTCVR = pCTR * pCVR; the loss is BCE(pCTR, click) + BCE(pCTCVR, click*conversion)
over all impressions, so the CVR tower learns only through pCTCVR.

Variants (all off by default):

* ``aux_labels``: Fliggy auxiliary tasks (e.g. same-category purchase), one tower
  each on the shared embedding, BCE over all impressions, weight ``aux_weight``;
* ``rank_alpha``: a pairwise AUC-approximating loss (see
  :func:`downstream.losses.pairwise_rank_loss`) on the CVR logit over clicked rows
  (``rank_target="cvr"``) or on log pCTCVR over all rows (``"ctcvr"``);
* ``guard_no_positive``: a batch without a positive contributes no CTCVR/aux loss;
* ``route``: Fliggy's dynamic route. Two CVR branches on the shared embedding:
  ``cvr_tower`` (the *positive* branch) and ``cvr_tower_neg``. In training, a batch
  that holds a positive (click*conversion = 1 on a row of this scene) computes
  pCVR, and so pCTCVR and every CVR loss, with the positive branch; a batch
  without one with the negative branch, so negatives alone never update the
  positive branch (its parameters are not in that step's graph: no gradient, and
  Adam skips them, momentum and weight decay included). At evaluation pCVR is
  always the positive branch's. The embedding, the CTR tower and the aux towers
  are shared by both routes and learn from every batch: clicks and aux labels are
  dense, only the conversion label is sparse enough to leave batches without a
  positive. The route is per process: under DDP ranks could take different
  branches, so use it in single-process training;
* ``nise``: NISE: a direct CVR loss on clicked rows, and on non-clicked rows
  (unlabeled for CVR) the model's own pCVR as pseudo-label (entropy
  minimisation) with weight lambda = nise_alpha * min(L_CTR / L_CVR, nise_beta);
* ``global_mode``: global-conversion rows (issue 10): ``"labels"`` (they come
  labelled by the data and enter every loss) or ``"head"`` (they train only a
  separate "global" head on the shared embedding; label ``global``);
* ``domain_indicator``: a learned bias on the CTR/CVR logits for the global
  source in training; in eval mode every row is treated as this scene, so the
  indicator is never a test-time input.
* ``synthetic_rows`` (issue 17): ``"all"`` (synthetic rows enter every loss like
  real rows) or ``"cvr"`` (they enter no CTR/CTCVR/aux/rank term and train only a
  click-space CVR term, BCE of pCVR against their conversion label, normalised
  like the CTCVR term, so a synthetic click does not raise its category's CTR);
* ``synthetic_bias``: a learned bias on the CVR logit of synthetic rows in
  training only (a provenance tag, dropped at inference).

Conversion labels may be soft (a probability in [0, 1]): every BCE term takes them.

The model owns its loss: ``loss(batch, outputs) -> dict`` with key ``"loss"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from downstream.losses import (
    entropy_pseudo_label_loss,
    nise_lambda,
    pairwise_rank_loss,
    weighted_bce,
    weighted_bce_logits,
)
from samplegen.errors import UsageError

__all__ = ["ESMMConfig", "ESMM", "MLP"]


@dataclass
class ESMMConfig:
    """Sizes and variant flags of :class:`ESMM` (JSON-serialisable)."""

    cardinalities: list[int]
    n_numeric: int = 0
    embed_dim: int = 16
    tower: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.0
    aux_labels: list[str] = field(default_factory=list)
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
    synthetic_rows: str = "all"
    synthetic_bias: bool = False

    def __post_init__(self) -> None:
        if self.synthetic_rows not in ("all", "cvr"):
            raise UsageError(f"synthetic_rows={self.synthetic_rows!r}: use 'all' or 'cvr'.")
        if self.rank_target not in ("cvr", "ctcvr"):
            raise UsageError(f"rank_target={self.rank_target!r}: use 'cvr' or 'ctcvr'.")
        if self.global_mode not in ("none", "labels", "head"):
            raise UsageError(f"global_mode={self.global_mode!r}: use 'none', 'labels' or 'head'.")
        if self.rank_alpha < 0 or self.nise_alpha < 0:
            raise UsageError("rank_alpha and nise_alpha must be >= 0.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MLP(nn.Module):
    """Linear-ReLU stack ending in one logit."""

    def __init__(self, d_in: int, dims: list[int], dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for d in dims:
            layers += [nn.Linear(d_in, d), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            d_in = d
        layers.append(nn.Linear(d_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class ESMM(nn.Module):
    """Entire-space multi-task model; see the module docstring for the variants."""

    def __init__(self, config: ESMMConfig):
        super().__init__()
        self.config = config
        card = torch.tensor([0, *config.cardinalities], dtype=torch.long)
        self.register_buffer("offsets", torch.cumsum(card, 0)[:-1].clone(), persistent=False)
        self.embedding = nn.Embedding(max(int(card.sum()), 1), config.embed_dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        d_in = len(config.cardinalities) * config.embed_dim + config.n_numeric
        self.ctr_tower = MLP(d_in, config.tower, config.dropout)
        self.cvr_tower = MLP(d_in, config.tower, config.dropout)  # the scoring branch
        self.cvr_tower_neg = MLP(d_in, config.tower, config.dropout) if config.route else None
        self.route_counts = {"positive": 0, "negative": 0}  # training batches per branch
        self.aux_towers = nn.ModuleDict(
            {_key(a): MLP(d_in, config.tower, config.dropout) for a in config.aux_labels})
        self.global_tower = MLP(d_in, config.tower, config.dropout) \
            if config.global_mode == "head" else None
        self.domain_bias = nn.Embedding(2, 2) if config.domain_indicator else None
        if self.domain_bias is not None:
            nn.init.zeros_(self.domain_bias.weight)
        self.synthetic_bias = nn.Parameter(torch.zeros(())) if config.synthetic_bias else None

    # ----------------------------------------------------------------- forward
    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cat = batch["cat"]
        emb = self.embedding(cat + self.offsets).flatten(1)
        x = torch.cat([emb, batch["num"]], 1) if self.config.n_numeric else emb
        ctr_logit, cvr_logit = self.ctr_tower(x), self._cvr_branch(batch)(x)
        if self.domain_bias is not None and self.training:
            b = self.domain_bias(batch["domain"])
            ctr_logit, cvr_logit = ctr_logit + b[:, 0], cvr_logit + b[:, 1]
        if self.synthetic_bias is not None and self.training:
            cvr_logit = cvr_logit + self.synthetic_bias * batch["is_synthetic"]
        p_ctr, p_cvr = torch.sigmoid(ctr_logit), torch.sigmoid(cvr_logit)
        out = {"ctr_logit": ctr_logit, "cvr_logit": cvr_logit,
               "p_ctr": p_ctr, "p_cvr": p_cvr, "p_ctcvr": p_ctr * p_cvr}
        for a in self.config.aux_labels:
            logit = self.aux_towers[_key(a)](x)
            out[f"aux_logit:{a}"], out[f"p_aux:{a}"] = logit, torch.sigmoid(logit)
        if self.global_tower is not None:
            g = self.global_tower(x)
            out["global_logit"], out["p_global"] = g, torch.sigmoid(g)
        return out

    def _cvr_branch(self, batch: dict[str, torch.Tensor]) -> nn.Module:
        """The CVR tower this batch uses: the positive branch, except for a training
        batch without a positive under ``route``."""
        if self.cvr_tower_neg is None or not self.training:
            return self.cvr_tower
        has_pos = has_positive(batch, self.config.global_mode)
        self.route_counts["positive" if has_pos else "negative"] += 1
        return self.cvr_tower if has_pos else self.cvr_tower_neg

    # -------------------------------------------------------------------- loss
    def loss(self, batch: dict[str, torch.Tensor], out: dict[str, torch.Tensor]
             ) -> dict[str, torch.Tensor]:
        """Every loss term by name plus their weighted sum under ``"loss"``."""
        c = self.config
        w = batch["weight"]
        click, conv, ctcvr = batch["click"], batch["conversion"], batch["ctcvr"]
        is_global = (batch["domain"] == 1).float()
        local = _local(batch, c.global_mode)
        syn_only_cvr = c.synthetic_rows == "cvr"
        if syn_only_cvr:
            local = local * (1 - batch["is_synthetic"])
        terms: dict[str, torch.Tensor] = {}
        terms["ctr"] = weighted_bce_logits(out["ctr_logit"], click, w, local)
        has_pos = has_positive(batch, c.global_mode)
        l_ctcvr = weighted_bce(out["p_ctcvr"], ctcvr, w, local)
        terms["ctcvr"] = l_ctcvr if has_pos or not c.guard_no_positive else l_ctcvr * 0.0
        total = terms["ctr"] + terms["ctcvr"]
        for a in c.aux_labels:
            y = batch[f"aux:{a}"]
            la = weighted_bce_logits(out[f"aux_logit:{a}"], y, w, local)
            if c.guard_no_positive and not bool(((y * local) > 0).any()):
                la = la * 0.0
            terms[f"aux:{a}"] = la
            total = total + c.aux_weight * la
        if c.rank_alpha > 0:
            if c.rank_target == "cvr":
                lr = pairwise_rank_loss(out["cvr_logit"], conv, w, click * local)
            else:
                score = F.logsigmoid(out["ctr_logit"]) + F.logsigmoid(out["cvr_logit"])
                lr = pairwise_rank_loss(score, ctcvr, w, local)
            terms["rank"] = lr
            total = total + c.rank_alpha * lr
        if c.nise:
            l_cvr = weighted_bce_logits(out["cvr_logit"], conv, w, click * local)
            l_pseudo = entropy_pseudo_label_loss(out["p_cvr"], (1 - click) * local, w)
            lam = nise_lambda(terms["ctr"], l_cvr, c.nise_alpha, c.nise_beta)
            terms["cvr"], terms["pseudo"], terms["nise_lambda"] = l_cvr, l_pseudo, lam
            total = total + l_cvr + lam * l_pseudo
        if syn_only_cvr:
            terms["synthetic_cvr"] = _synthetic_cvr(out["cvr_logit"], conv, w,
                                                    batch["is_synthetic"] * click, local)
            total = total + terms["synthetic_cvr"]
        if self.global_tower is not None:
            terms["global"] = weighted_bce_logits(out["global_logit"], batch["global"], w,
                                                  is_global)
            total = total + terms["global"]
        terms["loss"] = total
        return terms


def has_positive(batch: dict[str, torch.Tensor], global_mode: str = "none") -> bool:
    """Whether ``batch`` holds a CTCVR positive of this scene (rows of a separate
    global head, ``global_mode="head"``, do not count)."""
    return bool(((batch["ctcvr"] * _local(batch, global_mode)) > 0).any())


def _local(batch: dict[str, torch.Tensor], global_mode: str) -> torch.Tensor:
    """1 for the rows that train the scene's tasks, 0 for global-head rows."""
    if global_mode == "head":
        return (batch["domain"] != 1).to(batch["click"].dtype)
    return torch.ones_like(batch["click"])


def _synthetic_cvr(logit: torch.Tensor, label: torch.Tensor, weight: torch.Tensor,
                   rows: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
    """BCE of the CVR logit on the synthetic clicked ``rows``, summed with their
    weights and divided by the real rows' total weight (the CTCVR term's
    denominator), so a synthetic row of weight w counts like a real row of weight w."""
    ll = F.binary_cross_entropy_with_logits(logit, label, reduction="none")
    total = (weight * local).sum().clamp_min(1.0)
    return (weight * rows * ll).sum() / total


def _key(name: str) -> str:
    """ModuleDict keys may not contain dots."""
    return name.replace(".", "_")
