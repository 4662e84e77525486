"""DeepMLF's training objective: L1 on every head (configurable weights) + optional LM loss.

Why several heads: the unimodal heads keep each branch informative on its own (and give the
dashboard per-modality predictions); the per-token head makes each fusion token carry the
label, so token diagnostics mean something.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import FusionConfig
from .fusion import FusionOutput


def polarity_targets(labels: torch.Tensor) -> torch.Tensor:
    """0 negative (< -0.5), 1 neutral, 2 positive (> 0.5)."""
    return (labels > -0.5).long() + (labels > 0.5).long()


def fusion_loss(out: FusionOutput, labels: torch.Tensor, cfg: FusionConfig, polarity_token_ids: torch.Tensor | None = None):
    """Weighted sum of the head losses; returns (total, {name: value}) for logging."""
    w = cfg.loss
    parts = {
        "fused": F.l1_loss(out.pred_fused, labels),
        "text": F.l1_loss(out.pred_text, labels),
        "audio": F.l1_loss(out.pred_audio, labels),
        "visual": F.l1_loss(out.pred_visual, labels),
        "token": F.l1_loss(out.pred_tokens, labels[:, None].expand_as(out.pred_tokens)),
    }
    total = w.fused * parts["fused"] + w.text * parts["text"] + w.audio * parts["audio"]
    total = total + w.visual * parts["visual"] + w.token * parts["token"]
    if w.lm > 0 and out.lm_logits is not None and polarity_token_ids is not None:
        # The LM head, read at the last fusion token, must say the polarity word. (A causal-LM
        # loss on the transcript itself would give no gradient: text positions cannot see the
        # fusion tokens and the LM is frozen.)
        logits = out.lm_logits[:, polarity_token_ids]  # (B, 3)
        parts["lm"] = F.cross_entropy(logits, polarity_targets(labels))
        total = total + w.lm * parts["lm"]
    return total, {k: float(v.detach()) for k, v in parts.items()}
