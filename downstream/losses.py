"""Loss functions used by the ESMM family (pure functions of tensors)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["weighted_bce", "weighted_bce_logits", "pairwise_rank_loss", "nise_lambda", "entropy_pseudo_label_loss"]


def weighted_bce(prob: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                 mask: torch.Tensor | None = None, eps: float = 1e-7) -> torch.Tensor:
    """Weighted mean binary cross-entropy of probabilities; 0 when no row counts.

    ``weight`` scales each row, ``mask`` (0/1) selects rows. The mean divides by
    the sum of the effective weights.
    """
    w = torch.ones_like(label) if weight is None else weight
    if mask is not None:
        w = w * mask
    p = prob.clamp(eps, 1 - eps)
    ll = -(label * torch.log(p) + (1 - label) * torch.log1p(-p))
    total = w.sum()
    if total <= 0:
        return prob.sum() * 0.0
    return (w * ll).sum() / total


def weighted_bce_logits(logit: torch.Tensor, label: torch.Tensor,
                        weight: torch.Tensor | None = None,
                        mask: torch.Tensor | None = None) -> torch.Tensor:
    """Like :func:`weighted_bce` but from logits (numerically stable)."""
    w = torch.ones_like(label) if weight is None else weight
    if mask is not None:
        w = w * mask
    total = w.sum()
    if total <= 0:
        return logit.sum() * 0.0
    ll = F.binary_cross_entropy_with_logits(logit, label, reduction="none")
    return (w * ll).sum() / total


def pairwise_rank_loss(score: torch.Tensor, label: torch.Tensor,
                       weight: torch.Tensor | None = None,
                       mask: torch.Tensor | None = None) -> torch.Tensor:
    """AUC-approximating pairwise logistic loss: mean over (positive, negative)
    pairs of ``log(1 + exp(-(s_pos - s_neg)))``, pairs weighted by ``w_pos * w_neg``.

    Exactly 0 (with a gradient graph, never NaN) when there is no pair.
    """
    m = torch.ones_like(label, dtype=torch.bool) if mask is None else mask.bool()
    pos = m & (label > 0.5)
    neg = m & (label <= 0.5)
    if not bool(pos.any()) or not bool(neg.any()):
        return score.sum() * 0.0
    w = torch.ones_like(score) if weight is None else weight
    sp, sn = score[pos], score[neg]
    wp, wn = w[pos], w[neg]
    pair_w = wp[:, None] * wn[None, :]
    total = pair_w.sum()
    if total <= 0:
        return score.sum() * 0.0
    loss = F.softplus(-(sp[:, None] - sn[None, :]))
    return (pair_w * loss).sum() / total


def entropy_pseudo_label_loss(prob: torch.Tensor, mask: torch.Tensor,
                              weight: torch.Tensor | None = None, eps: float = 1e-7
                              ) -> torch.Tensor:
    """NISE pseudo-label loss on unlabeled rows: cross-entropy of ``prob`` against
    itself (the model's own pCVR as pseudo-label, gradient through both sides),
    which is the binary entropy ``-(p log p + (1 - p) log(1 - p))`` (entropy
    minimisation). Weighted mean over ``mask`` rows; 0 when there are none."""
    w = torch.ones_like(prob) if weight is None else weight
    w = w * mask
    total = w.sum()
    if total <= 0:
        return prob.sum() * 0.0
    p = prob.clamp(eps, 1 - eps)
    ent = -(p * torch.log(p) + (1 - p) * torch.log1p(-p))
    return (w * ent).sum() / total


def nise_lambda(l_ctr: torch.Tensor, l_cvr: torch.Tensor, alpha: float, beta: float,
                eps: float = 1e-8) -> torch.Tensor:
    """NISE weight lambda = alpha * min(L_CTR / L_CVR, beta), detached."""
    ratio = l_ctr.detach() / (l_cvr.detach() + eps)
    return alpha * torch.clamp(ratio, max=beta)
