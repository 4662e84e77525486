"""Mutual-information terms between the fused and unimodal embeddings (InfoNCE / CPC).

Why: the heads alone let a branch learn only what predicts the label. Self-MI (Nguyen et al.,
arXiv 2311.03785) and MMIM (Han et al., EMNLP 2021; ``MMSA/models/singleTask/MMIM.py``, class
``CPC``) add a contrastive lower bound on the mutual information between the fused
representation and each modality's: the fused vector of a clip must pick out that clip's
text (audio, visual) vector among the other clips of the batch. Here the same bound is also
offered between unimodal pairs (text↔audio, text↔visual, audio↔visual).

What we followed and what differs: MMIM's CPC maps the fused vector into the unimodal space
with one linear layer and scores cosine similarities at temperature 1, one direction only.
We project *both* sides into a common space (LayerNorm + Linear, width ``cfg.av_dim``),
score cosine / :data:`TEMPERATURE` and average both directions (as CLIP does), so every
term is symmetric and comparable across pairs. The loss is ``log(B) - I_NCE``: lower when
matched pairs score above mismatched ones.

A clip missing a modality (empty transcript, no audio or video stream, or only unmeasured
steps; ``FusionOutput.modality_present``) contributes no pair for that modality; a term with
fewer than 2 pairs in the batch is left out of that batch's loss (no negatives to contrast with).

The estimator's projections exist only when ``cfg.loss.mi`` or ``cfg.loss.mi_pairs`` is > 0;
they are trained with the model and stored in its checkpoint but play no part in a prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: softmax temperature of every InfoNCE score here (cosine / TEMPERATURE)
TEMPERATURE = 0.1
#: unimodal embeddings, in the column order of ``FusionOutput.modality_present``
UNIMODAL = ("text", "audio", "visual")
#: fused ↔ unimodal terms (weight ``LossWeights.mi``) and unimodal pairs (``LossWeights.mi_pairs``)
FUSED_PAIRS: tuple[tuple[str, str], ...] = (("fused", "text"), ("fused", "audio"), ("fused", "visual"))
UNIMODAL_PAIRS: tuple[tuple[str, str], ...] = (("text", "audio"), ("text", "visual"), ("audio", "visual"))


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """Symmetric InfoNCE of matched rows: row i of ``a`` (B, d) belongs with row i of ``b`` (B, d).

    Cross-entropy of picking the right partner among the batch by cosine similarity, averaged
    over both directions. ``log(B)`` when the scores cannot tell the clips apart, → 0 when every
    clip's partner scores far above the rest.
    """
    a = F.normalize(a, dim=-1)  # (B, d)
    b = F.normalize(b, dim=-1)  # (B, d)
    logits = a @ b.T / temperature  # (B, B): a_i vs b_j
    target = torch.arange(a.shape[0], device=a.device)  # (B,)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def paired_info_nce(a: torch.Tensor, b: torch.Tensor, ok: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor | None:
    """:func:`info_nce` over the rows where ``ok`` (B,) is True; None with fewer than 2 such rows."""
    if int(ok.sum()) < 2:
        return None
    return info_nce(a[ok], b[ok], temperature)


def mean_terms(terms: dict[str, torch.Tensor | None], like: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean of the terms that could be computed (0 when none could) and each one's value for logging."""
    got = {k: v for k, v in terms.items() if v is not None}
    if not got:
        return like.new_zeros(()), {}
    return torch.stack(list(got.values())).mean(), {k: float(v.detach()) for k, v in got.items()}


def presence(out, name: str) -> torch.Tensor:
    """(B,) bool: the clip has modality ``name`` ("fused" is always present)."""
    if name == "fused":
        return torch.ones(out.emb_fused.shape[0], dtype=torch.bool, device=out.emb_fused.device)
    return out.modality_present[:, UNIMODAL.index(name)]


class MIEstimator(nn.Module):
    """Learnable projections of each embedding into one ``dim``-wide space for the InfoNCE terms.

    ``widths``: the width of each embedding as ``FusionOutput`` reports it (fused and text: the
    LM width, or the aligner's width for text; audio/visual: ``cfg.av_dim``).
    """

    def __init__(self, widths: dict[str, int], dim: int) -> None:
        super().__init__()
        self.proj = nn.ModuleDict({k: nn.Sequential(nn.LayerNorm(w), nn.Linear(w, dim)) for k, w in widths.items()})

    def project(self, out, name: str) -> torch.Tensor:
        return self.proj[name](getattr(out, f"emb_{name}").float())  # (B, dim)

    def forward(self, out, pairs: tuple[tuple[str, str], ...]) -> dict[str, torch.Tensor | None]:
        """{"a~b": InfoNCE loss} for each pair, over the clips that have both modalities (None: < 2 such clips)."""
        z = {k: self.project(out, k) for k in {m for p in pairs for m in p}}  # name -> (B, dim)
        return {f"{a}~{b}": paired_info_nce(z[a], z[b], presence(out, a) & presence(out, b)) for a, b in pairs}


def mi_estimator(cfg, d_model: int) -> MIEstimator | None:
    """The estimator a config asks for (``cfg.loss.mi`` or ``mi_pairs`` > 0), else None.

    Text is as wide as the LM (``d_model``), or ``cfg.av_dim`` when the aligner reports it.
    """
    if cfg.loss.mi <= 0 and cfg.loss.mi_pairs <= 0:
        return None
    d_text = cfg.av_dim if cfg.aligner != "none" else d_model
    return MIEstimator({"fused": d_model, "text": d_text, "audio": cfg.av_dim, "visual": cfg.av_dim}, cfg.av_dim)


def mi_loss(estimator: MIEstimator, out, mi: float, mi_pairs: float) -> tuple[torch.Tensor, dict[str, float]]:
    """``mi`` × mean fused↔unimodal term + ``mi_pairs`` × mean unimodal-pair term; (total, parts)."""
    total = out.emb_fused.new_zeros(())
    parts: dict[str, float] = {}
    for weight, pairs, key in ((mi, FUSED_PAIRS, "mi"), (mi_pairs, UNIMODAL_PAIRS, "mi_pairs")):
        if weight <= 0:
            continue
        mean, each = mean_terms(estimator(out, pairs), total)
        total = total + weight * mean
        parts[key] = float(mean.detach())
        parts.update({f"nce {k}": v for k, v in each.items()})
    return total, parts
