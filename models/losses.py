"""DeepMLF's training objective: L1 on every head (configurable weights) + optional LM loss.

Why several heads: the unimodal heads keep each branch informative on its own (and give the
dashboard per-modality predictions); the per-token head makes each fusion token carry the
label, so token diagnostics mean something.

What each head is compared with is a :class:`HeadTargets`: with ``cfg.head_targets ==
"label"`` every head gets the clip label (the first default model); with ``"planted"`` the
text, audio and visual heads get their own modality's valence (the training code builds them,
``mmviz.training.targets``). A NaN target means "no target for this head on this item": it
adds no loss (e.g. a clip of real data whose voice valence nobody knows).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import FusionConfig
from .fusion import FusionOutput

UNIMODAL_HEADS: tuple[str, ...] = ("text", "audio", "visual")


@dataclass(frozen=True)
class HeadTargets:
    """Per-head targets of one batch, each (B,) on [-3, 3]; NaN = no loss for that item."""

    fused: torch.Tensor  # (B,) the clip label: fused and per-token heads, LM polarity
    text: torch.Tensor  # (B,)
    audio: torch.Tensor  # (B,)
    visual: torch.Tensor  # (B,)

    @classmethod
    def from_labels(cls, labels: torch.Tensor) -> "HeadTargets":
        """Every head on the clip label (``head_targets == "label"``)."""
        return cls(labels, labels, labels, labels)


def polarity_targets(labels: torch.Tensor) -> torch.Tensor:
    """0 negative (< -0.5), 1 neutral, 2 positive (> 0.5)."""
    return (labels > -0.5).long() + (labels > 0.5).long()


def masked_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over the items whose target is not NaN (0, still differentiable, if none)."""
    ok = ~torch.isnan(target)  # (B,) or (B, N)
    if not bool(ok.any()):
        return (pred * 0.0).sum()
    return F.l1_loss(pred[ok], target[ok])


def fusion_loss(out: FusionOutput, targets: torch.Tensor | HeadTargets, cfg: FusionConfig,
                polarity_token_ids: torch.Tensor | None = None):
    """Weighted sum of the head losses; returns (total, {name: value}) for logging.

    ``targets``: a (B,) label tensor (every head on it) or per-head :class:`HeadTargets`.
    """
    t = targets if isinstance(targets, HeadTargets) else HeadTargets.from_labels(targets)
    w = cfg.loss
    parts = {
        "fused": masked_l1(out.pred_fused, t.fused),
        "text": masked_l1(out.pred_text, t.text),
        "audio": masked_l1(out.pred_audio, t.audio),
        "visual": masked_l1(out.pred_visual, t.visual),
        "token": masked_l1(out.pred_tokens, t.fused[:, None].expand_as(out.pred_tokens)),
    }
    total = w.fused * parts["fused"] + w.text * parts["text"] + w.audio * parts["audio"]
    total = total + w.visual * parts["visual"] + w.token * parts["token"]
    if w.lm > 0 and out.lm_logits is not None and polarity_token_ids is not None:
        # The LM head, read at the last fusion token, must say the polarity word. (A causal-LM
        # loss on the transcript itself would give no gradient: text positions cannot see the
        # fusion tokens and the LM is frozen.)
        logits = out.lm_logits[:, polarity_token_ids]  # (B, 3)
        parts["lm"] = F.cross_entropy(logits, polarity_targets(t.fused))
        total = total + w.lm * parts["lm"]
    return total, {k: float(v.detach()) for k, v in parts.items()}
