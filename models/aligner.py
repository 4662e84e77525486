"""A SPANER-style shared-prompt aligner: text, audio and visual in one embedding space.

Why: the fusion model keeps each modality in its own space (text in the LM's width, audio and
video in the encoder's), so "are the voice and the words of this clip close?" has no direct
answer, and the dataset page can only compare different-width pairs through a fitted
projection. SPANER (Ng, Han & Holden, arXiv 2508.13387) anchors every modality to one set of
learnable *shared prompt* vectors: each modality's encoder output is read together with the
same prompts by the same module, and a contrastive loss pulls the modalities of one clip
together, so semantically related inputs meet in one space whatever their modality. It is
judged by cosine similarity and cross-modal retrieval, which ``mmviz.explain.embedding_map.
modality_alignment`` measures.

How it is built here (our reading of SPANER for this model, not a copy of its code):

* Each modality is brought to width A (``cfg.av_dim``): audio and visual steps are the
  encoder's own projections (with their time encoding, before the modality tag), text is the
  pooled text state (the one the text head read before; ``cfg.text_read_layer``) through
  LayerNorm + Linear, as one token. Each modality has its own input LayerNorm.
* ``[P shared prompt vectors ; the modality's tokens]`` go through one Transformer layer whose
  weights are shared by all modalities: the modality's tokens attend to the prompts (and to
  each other), the prompts attend to the tokens. The mean of the P prompt outputs is the
  modality's aligned embedding; every modality is therefore read by the same anchors in the
  same space.
* The aligned embeddings are what the model reports as ``emb_text / emb_audio / emb_visual``
  (maps, alignment table) and what the unimodal heads read; the aligned audio/visual *tokens*
  replace the encoder's inputs, so the fusion tokens cross-attend to the aligned sequence (the
  key layout — null, audio steps, visual steps — is unchanged, so attention views still name
  modality and moment).
* :func:`alignment_loss`: symmetric InfoNCE (``models/mi.py``) for text↔audio, text↔visual and
  audio↔visual over the clips that have both, weight ``cfg.loss.align``.

With ``cfg.aligner == "none"`` none of this exists and the model is exactly the old one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import FusionConfig
from .mi import UNIMODAL, UNIMODAL_PAIRS, mean_terms, paired_info_nce


@dataclass
class AlignedModalities:
    """The aligner's output for one batch; pooled embeddings (B, A), tokens (B, T, A)."""

    text: torch.Tensor  # (B, A)
    audio: torch.Tensor  # (B, A)
    visual: torch.Tensor  # (B, A)
    audio_tokens: torch.Tensor  # (B, Ta, A) aligned audio steps, read by the audio-visual encoder
    visual_tokens: torch.Tensor  # (B, Tv, A) aligned visual steps


class SharedPromptAligner(nn.Module):
    """P learnable prompt vectors + one shared Transformer layer reading ``[prompts ; tokens]``."""

    def __init__(self, cfg: FusionConfig, d_text: int) -> None:
        super().__init__()
        A = cfg.av_dim
        self.n_prompts = cfg.aligner_prompts
        # unit scale, like the LayerNorm-ed tokens they sit beside: distinct anchors from the start
        # (at 0.02 every clip's prompt outputs started almost equal and the contrastive loss
        # moved off log(B) several times slower on the tiny test data)
        self.prompts = nn.Parameter(torch.randn(cfg.aligner_prompts, A))  # (P, A)
        self.text_in = nn.Sequential(nn.LayerNorm(d_text), nn.Linear(d_text, A))
        self.audio_in = nn.LayerNorm(A)
        self.visual_in = nn.LayerNorm(A)
        self.layer = nn.TransformerEncoderLayer(
            A, cfg.av_heads, A * cfg.av_ff_mult, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.norm = nn.LayerNorm(A)

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(aligned tokens (B, T, A), aligned embedding (B, A)) of one modality's tokens (B, T, A)."""
        B, P = tokens.shape[0], self.n_prompts
        seq = torch.cat([self.prompts.to(tokens.dtype).expand(B, P, -1), tokens], dim=1)  # (B, P+T, A)
        valid = torch.cat([torch.ones(B, P, dtype=torch.bool, device=tokens.device), mask], dim=1)  # (B, P+T)
        h = self.layer(seq, src_key_padding_mask=~valid)  # (B, P+T, A); prompts keep every row finite
        return h[:, P:], self.norm(h[:, :P]).mean(1)  # (B, T, A), (B, A)

    def forward(self, emb_text: torch.Tensor, text_present: torch.Tensor, audio: torch.Tensor, audio_mask: torch.Tensor,
                visual: torch.Tensor, visual_mask: torch.Tensor) -> AlignedModalities:
        """Align the pooled text (B, D) and the projected audio (B, Ta, A) / visual (B, Tv, A) steps."""
        _, text = self.encode(self.text_in(emb_text)[:, None], text_present[:, None])  # (B, A)
        audio_tokens, emb_audio = self.encode(self.audio_in(audio), audio_mask)  # (B, Ta, A), (B, A)
        visual_tokens, emb_visual = self.encode(self.visual_in(visual), visual_mask)  # (B, Tv, A), (B, A)
        return AlignedModalities(text, emb_audio, emb_visual, audio_tokens, visual_tokens)


def alignment_loss(out, weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """``weight`` × mean symmetric InfoNCE between the aligned modalities of the same clips; (total, parts)."""
    emb = {m: getattr(out, f"emb_{m}") for m in UNIMODAL}  # (B, A) each
    ok = {m: out.modality_present[:, i] for i, m in enumerate(UNIMODAL)}  # (B,) each
    mean, each = mean_terms({f"{a}~{b}": paired_info_nce(emb[a], emb[b], ok[a] & ok[b]) for a, b in UNIMODAL_PAIRS},
                            out.emb_fused)
    return weight * mean, {"align": float(mean.detach())} | {f"align {k}": v for k, v in each.items()}
