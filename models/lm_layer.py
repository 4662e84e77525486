"""One frozen Llama-style decoder layer, run by us from its parts.

Why this exists: the fusion model runs the frozen LM in two passes (text alone, then the
fusion tokens attending to the text's keys/values), so it needs two things a plain layer
call does not give: each layer's keys/values from the text pass, and a way to prepend them
in the fusion pass. We used to get both by handing transformers' ``LlamaDecoderLayer`` a
duck-typed ``past_key_values`` object whose ``update()`` recorded or prepended K/V. That is
transformers' private cache protocol; 5.x deprecates the argument ("will be removed in
version 5.40.0", a FutureWarning on every call) and the ``update`` signature is not a
public promise. So here we only *read* the layer: its two RMSNorms, its q/k/v/o projections
and its MLP are called as plain ``tensor -> tensor`` modules, and the attention around them
(rotary embedding, grouped-query attention, the mask, the K/V prefix) is written out below.
No cache object and no ``past_key_values`` reach transformers.

The ops and their order are those of transformers' SDPA path (repeat the kv heads, additive
float mask, ``scaled_dot_product_attention``), so results match ``LlamaDecoderLayer`` to
float rounding; ``tests/test_lm_layer.py`` checks that against the layer itself.
:func:`check_layer` refuses decoder layers with parts this file does not run (Qwen3's q/k
norms, Gemma's extra norms, fused qkv projections, logit soft-capping).

Shapes: B batch, P prefix positions (keys/values from an earlier pass), S new positions,
D LM width, H query heads, G key/value heads, hd head dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mmviz.errors import BackboneError

_LAYER_PARTS = {"self_attn", "mlp", "input_layernorm", "post_attention_layernorm"}
_ATTN_PARTS = {"q_proj", "k_proj", "v_proj", "o_proj"}
_ATTN_ATTRS = ("head_dim", "num_key_value_groups", "scaling")


@dataclass(frozen=True)
class LayerKV:
    """One layer's keys and values for a run of positions (what a later pass attends to)."""

    keys: torch.Tensor  # (B, G, S, hd), rotary embedding applied
    values: torch.Tensor  # (B, G, S, hd)


def check_layer(layer: nn.Module, index: int = 0) -> None:
    """Refuse a decoder layer that :func:`run_layer` would compute differently from its own forward."""
    attn = getattr(layer, "self_attn", None)
    parts = {name for name, _ in layer.named_children()}
    attn_parts = set() if attn is None else {name for name, _ in attn.named_children()}
    problems = []
    if parts != _LAYER_PARTS:
        problems.append(f"parts {sorted(parts)} instead of {sorted(_LAYER_PARTS)}")
    if attn is not None and attn_parts != _ATTN_PARTS:
        problems.append(f"attention parts {sorted(attn_parts)} instead of {sorted(_ATTN_PARTS)}")
    if attn is not None and any(not hasattr(attn, a) for a in _ATTN_ATTRS):
        problems.append(f"attention without {', '.join(a for a in _ATTN_ATTRS if not hasattr(attn, a))}")
    if attn is not None and getattr(attn, "attn_logit_softcapping", None) is not None:
        problems.append("attention logit soft-capping")
    if problems:
        raise BackboneError(
            f"The language model's decoder layer {index} ({type(layer).__name__}) is not a Llama-style layer: "
            + "; ".join(problems) + ".",
            hint="Use a Llama, SmolLM, Mistral or Qwen2 style backbone (pre-norm, separate q/k/v/o "
            "projections, rotary embeddings, grouped-query attention).",
        )


def attention_bias(key_valid: torch.Tensor, n_query: int, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention mask for ``n_query`` new positions after ``P = Lk - n_query`` earlier ones.

    Query i sits at position P+i and may read key j when j <= P+i (causal) and key j is real
    (padding is left, so pads are never read by a real token); it may always read itself, so a
    pad row is never empty (its output is unused). ``key_valid`` (B, Lk) bool.
    Returns (B, 1, n_query, Lk): 0 where allowed, -inf elsewhere.
    """
    B, Lk = key_valid.shape
    P = Lk - n_query
    dev = key_valid.device
    q_pos = P + torch.arange(n_query, device=dev)  # (S,)
    k_pos = torch.arange(Lk, device=dev)  # (Lk,)
    causal = k_pos[None, :] <= q_pos[:, None]  # (S, Lk)
    allowed = causal[None] & key_valid[:, None, :]  # (B, S, Lk)
    allowed = allowed | (k_pos[None, :] == q_pos[:, None])[None]  # (B, S, Lk) each row reads itself
    zeros = torch.zeros(B, 1, n_query, Lk, dtype=dtype, device=dev)  # (B, 1, S, Lk)
    return zeros.masked_fill(~allowed[:, None], float("-inf"))  # (B, 1, S, Lk)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(..., hd) -> (..., hd): [x1, x2] -> [-x2, x1], the pairing rotary embeddings use."""
    x1, x2 = x.chunk(2, dim=-1)  # (..., hd/2) each
    return torch.cat([-x2, x1], dim=-1)  # (..., hd)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys by their positions' angles.  (B, h, S, hd), (B, S, hd) x2 -> (B, h, S, hd)"""
    return x * cos[:, None] + _rotate_half(x) * sin[:, None]  # (B, h, S, hd)


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Share each key/value head with its ``n_rep`` query heads.  (B, G, S, hd) -> (B, G*n_rep, S, hd)"""
    if n_rep == 1:
        return x
    B, G, S, hd = x.shape
    return x[:, :, None].expand(B, G, n_rep, S, hd).reshape(B, G * n_rep, S, hd)  # (B, H, S, hd)


def run_layer(
    layer: nn.Module,
    h: torch.Tensor,
    bias: torch.Tensor,
    rotary: tuple[torch.Tensor, torch.Tensor],
    prefix: LayerKV | None = None,
) -> tuple[torch.Tensor, LayerKV]:
    """Run one frozen decoder layer on ``h`` (B, S, D), attending to ``prefix`` then to ``h`` itself.

    ``bias`` (B, 1, S, P+S) comes from :func:`attention_bias`; ``rotary`` is the backbone's
    rotary module's ``(cos, sin)`` for the S new positions, each (B, S, hd). Returns the new
    hidden states (B, S, D) and this layer's keys/values for the S new positions only (so a
    text pass can keep them as the next pass's ``prefix``).
    """
    attn = layer.self_attn
    B, S, _ = h.shape
    hd, n_rep = attn.head_dim, attn.num_key_value_groups
    cos, sin = rotary  # (B, S, hd) each

    # self-attention (pre-norm)
    x = layer.input_layernorm(h)  # (B, S, D)
    q = attn.q_proj(x).view(B, S, -1, hd).transpose(1, 2)  # (B, H, S, hd)
    k = attn.k_proj(x).view(B, S, -1, hd).transpose(1, 2)  # (B, G, S, hd)
    v = attn.v_proj(x).view(B, S, -1, hd).transpose(1, 2)  # (B, G, S, hd)
    q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)  # (B, H, S, hd), (B, G, S, hd)
    new_kv = LayerKV(k, v)
    if prefix is not None:
        k = torch.cat([prefix.keys.to(k.dtype), k], dim=2)  # (B, G, P+S, hd)
        v = torch.cat([prefix.values.to(v.dtype), v], dim=2)  # (B, G, P+S, hd)
    window = getattr(attn, "sliding_window", None)
    if window is not None and k.shape[2] > window:
        raise BackboneError(
            f"The language model's attention window is {window} tokens, but this pass has {k.shape[2]}.",
            hint="Shorten the transcript or use a backbone without sliding-window attention.",
        )
    dropout = getattr(attn, "attention_dropout", 0.0) if attn.training else 0.0
    ctx = F.scaled_dot_product_attention(
        q, _repeat_kv(k, n_rep), _repeat_kv(v, n_rep), attn_mask=bias, dropout_p=dropout, scale=attn.scaling
    )  # (B, H, S, hd)
    ctx = ctx.transpose(1, 2).reshape(B, S, -1)  # (B, S, H*hd)
    h = h + attn.o_proj(ctx)  # (B, S, D)

    # feed-forward (pre-norm)
    h = h + layer.mlp(layer.post_attention_layernorm(h))  # (B, S, D)
    return h, new_kv
