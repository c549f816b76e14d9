"""CPU-friendly attention for the transformers backend: GQA without copies, shared prefixes.

:func:`use_gqa_attention` registers an SDPA attention that passes grouped KV heads
as they are (no ``repeat_kv`` copy). Inside :func:`shared_prefix`, the same
function also attends to a prompt's keys and values held once (batch 1) while
the KV cache holds only each row's own tokens: every row of a few-shot batch
shares one prefilled prompt without repeating it ``batch`` times in memory or in
the attention's reads (the two parts are merged with one softmax, as in
cascade attention).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["use_gqa_attention", "shared_prefix"]

log = logging.getLogger(__name__)

_ATTN = "samplegen_sdpa"
_PREFIX: ContextVar[Sequence[tuple[Any, Any]] | None] = ContextVar("samplegen_prefix",
                                                                     default=None)


@contextmanager
def shared_prefix(kv: Sequence[tuple[Any, Any]]) -> Iterator[None]:
    """Within the block, every attention layer ``i`` also attends to ``kv[i]`` (batch 1)."""
    token = _PREFIX.set(kv)
    try:
        yield
    finally:
        _PREFIX.reset(token)


def _sdpa_gqa(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
              dropout: float = 0.0, scaling: float | None = None, is_causal: bool | None = None,
              **kwargs: Any) -> tuple[Any, None]:
    """SDPA with grouped KV heads passed as they are; plus the shared prefix when one is set."""
    import torch

    mask = attention_mask
    if mask is not None:
        mask = mask[:, :, :, : key.shape[-2]]
    prefix = _PREFIX.get()
    if prefix is not None:
        pk, pv = prefix[module.layer_idx]
        return _with_prefix(query, key, value, mask, pk, pv, scaling), None
    causal = mask is None and query.shape[2] > 1
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling, is_causal=causal,
        enable_gqa=key.shape[1] != query.shape[1])
    return out.transpose(1, 2).contiguous(), None


def _with_prefix(q: Any, k: Any, v: Any, mask: Any, pk: Any, pv: Any,
                 scale: float | None) -> Any:
    """Attention of ``q`` (B, H, W, D) over a batch-1 prefix ``pk/pv`` and per-row ``k/v``."""
    import torch

    b, h, w, d = q.shape
    kvh, s = pk.shape[1], k.shape[2]
    g = h // kvh
    scale = d ** -0.5 if scale is None else scale
    # the prefix: every row's queries of one KV head against one copy of its keys
    qp = q.reshape(b, kvh, g, w, d).permute(1, 2, 0, 3, 4).reshape(1, kvh, g * b * w, d)
    op, lp = _attend(qp, pk, pv, scale)
    op = op.reshape(kvh, g, b, w, d).permute(2, 0, 1, 3, 4).reshape(b, kvh, g * w, d)
    lp = lp.reshape(kvh, g, b, w).permute(2, 0, 1, 3).reshape(b, kvh, g * w)
    # the rows' own tokens
    ss = torch.matmul(q.reshape(b, kvh, g * w, d), k.transpose(-1, -2)) * scale
    if mask is None:  # causal over the new tokens
        mask = torch.ones(w, s, dtype=torch.bool, device=q.device).tril(s - w)[None, None]
    ss = ss.reshape(b, kvh, g, w, s)
    if mask.dtype == torch.bool:
        ss = ss.masked_fill(~mask.reshape(mask.shape[0], 1, 1, w, s), float("-inf"))
    else:
        ss = ss + mask.reshape(mask.shape[0], 1, 1, w, s)
    ss = ss.reshape(b, kvh, g * w, s)
    ls = torch.logsumexp(ss, -1)
    os_ = torch.matmul(torch.exp(ss - ls.clamp(min=-1e30)[..., None]), v)
    top = torch.maximum(lp, ls)
    wp, ws = torch.exp(lp - top)[..., None], torch.exp(ls - top)[..., None]
    out = (op * wp + os_ * ws) / (wp + ws)
    return out.reshape(b, h, w, d).transpose(1, 2).contiguous()


def _attend(q: Any, k: Any, v: Any, scale: float) -> tuple[Any, Any]:
    """Softmax attention (no mask) and its log-sum-exp; the fused CPU kernel when present."""
    import torch

    if q.device.type == "cpu":
        try:
            out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
                q, k, v, 0.0, False, scale=scale)
            return out, lse
        except (AttributeError, RuntimeError):  # another torch build: the plain way
            pass
    sc = torch.matmul(q, k.transpose(-1, -2)) * scale
    lse = torch.logsumexp(sc, -1)
    return torch.matmul(torch.exp(sc - lse[..., None]), v), lse


def use_gqa_attention(model: Any) -> bool:
    """Switch ``model`` to the GQA-aware SDPA attention (3-6x faster decoding over a long
    shared prompt on CPU); returns False (and changes nothing) when not supported."""
    try:
        from transformers import AttentionInterface, AttentionMaskInterface
        from transformers.masking_utils import sdpa_mask

        AttentionInterface.register(_ATTN, _sdpa_gqa)
        AttentionMaskInterface.register(_ATTN, sdpa_mask)
        model.set_attn_implementation(_ATTN)
        return True
    except Exception as e:  # noqa: BLE001 - older transformers or exotic models
        log.debug("GQA attention not used: %s", e)
        return False
