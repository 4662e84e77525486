"""Fusion strategies without fusion tokens: late fusion, early fusion, the uni-modal ensemble.

Why they exist: they are the references a deep-fusion model is judged against. Du et al.
(ICML 2023) show that jointly trained multimodal models suffer *modality competition*: the
modality that learns fastest makes the encoders of the others lazy, so a uni-modal ensemble
(UME: each member trained alone, then averaged) can beat joint training; the uni-modal
teacher (UMT) distils such members back into the fused model. Late and early fusion are the
simple baselines.

Every strategy is the same :class:`~.fusion.FusionModel` class (built from ``cfg.strategy``),
fills the same :class:`~.fusion.FusionOutput` fields and saves the same kind of checkpoint,
so every page, report and explainer reads it unchanged. The text member is always the text
head on the frozen LM (``FusionModel.head_text``), exactly as in deep fusion.

============  =======================================  ==============================  =========================
strategy      audio / visual vectors                   fused score                     trained on
============  =======================================  ==============================  =========================
``late``      own encoder per modality, sees only it   mean of the heads present       fused + unimodal L1, jointly
``early``     own encoder per modality, sees only it   MLP([text; audio; visual;       fused + unimodal L1, jointly
                                                        presence flags])
``ume``       own encoder per modality, sees only it   mean (or softmax-weighted mean)  each member on its own L1
                                                        of the members present          only (no shared gradient)
============  =======================================  ==============================  =========================

``umt`` has deep fusion's modules (``fusion.py`` builds it); it differs only in training
(``mmviz.training.strategies``).

What these models lack gets a well-defined empty value: no fusion tokens, so
``pred_tokens`` is (B, 0), ``token_states`` (B, n_layers+1, 0, D), ``cross_attention`` an
empty tuple when collected, ``gates`` (0, 2), ``block_updates`` and ``lm_logits`` None. The
keys keep deep fusion's layout (null key, audio steps, visual steps) so per-key records still
name the inputs. ``emb_fused`` is ``[emb_text; emb_audio; emb_visual]`` (B, D + 2A): what the
fused score is computed from.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import FusionConfig
from .fusion import (MODALITY_AUDIO, MODALITY_NULL, MODALITY_VISUAL, FusionInputs, FusionOutput, TextPrefix, _head,
                     _masked_mean, time_encoding)

#: the members of a uni-modal ensemble, in the order of ``member_logits`` and of presence flags
MEMBERS: tuple[str, ...] = ("text", "audio", "visual")


class UnimodalEncoder(nn.Module):
    """One modality alone: project, add a time encoding, a small Transformer, mean-pool.

    Why a separate encoder per modality (not deep fusion's joint AVEncoder): a member of an
    ensemble must not see the other modality, or it is not a uni-modal member. A learned null
    step leads the sequence so a clip without this modality still has one key (a finite
    softmax); the pooled vector then is zeros, like the joint encoder's.
    """

    def __init__(self, cfg: FusionConfig, in_dim: int) -> None:
        super().__init__()
        A = cfg.av_dim
        self.proj = nn.Linear(max(in_dim, 1), A)
        self.null = nn.Parameter(torch.randn(A))
        layer = nn.TransformerEncoderLayer(
            A, cfg.av_heads, A * cfg.av_ff_mult, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.av_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(A)

    def forward(self, values: torch.Tensor, times: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, Dx) normalised values, (B, T) seconds, (B, T) bool -> (B, A) pooled vector."""
        B, A = values.shape[0], self.norm.normalized_shape[0]
        h = self.proj(values) + time_encoding(times, A)  # (B, T, A)
        seq = torch.cat([self.null.expand(B, 1, -1), h], dim=1)  # (B, 1+T, A)
        valid = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=h.device), mask], dim=1)  # (B, 1+T)
        enc = self.norm(self.encoder(seq, src_key_padding_mask=~valid))  # (B, 1+T, A)
        return _masked_mean(enc[:, 1:], mask)  # (B, A)


def key_layout(x: FusionInputs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deep fusion's key layout for these inputs: modality (B, K), seconds (B, K), valid (B, K).

    K = 1 + Ta + Tv: the null key, then the audio steps, then the visual steps.
    """
    B, Ta, Tv = x.batch_size, x.audio.shape[1], x.visual.shape[1]
    dev = x.audio.device
    modality = torch.cat([torch.full((B, 1), MODALITY_NULL, device=dev), torch.full((B, Ta), MODALITY_AUDIO, device=dev),
                          torch.full((B, Tv), MODALITY_VISUAL, device=dev)], dim=1)  # (B, K)
    times = torch.cat([torch.full((B, 1), float("nan"), device=dev), x.audio_times.float(), x.visual_times.float()], dim=1)  # (B, K)
    mask = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=dev), x.audio_mask, x.visual_mask], dim=1)  # (B, K)
    return modality, times, mask


def weighted_mean(preds: torch.Tensor, present: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the present members' predictions, optionally weighted; 0 when none is present.

    (B, M) predictions, (B, M) presence in {0, 1}, optional (M,) weights -> (B,).
    The weights are renormalised over the members present, so a clip without audio is the
    weighted mean of its text and visual members.
    """
    w = present if weights is None else present * weights[None]  # (B, M)
    total = w.sum(-1)  # (B,)
    return torch.where(total > 0, (preds * w).sum(-1) / total.clamp_min(1e-12), torch.zeros_like(total))  # (B,)


class StrategyFusion(nn.Module):
    """The parts a late / early / UME model has instead of fusion tokens, and its forward pass."""

    def __init__(self, cfg: FusionConfig, d_model: int) -> None:
        super().__init__()
        if cfg.has_fusion_tokens:
            raise ValueError(f"strategy {cfg.strategy!r} is deep fusion; StrategyFusion is for late / early / ume")
        self.strategy = cfg.strategy
        self.audio_encoder = UnimodalEncoder(cfg, cfg.audio_dim)
        self.visual_encoder = UnimodalEncoder(cfg, cfg.visual_dim)
        if cfg.strategy == "early":
            # [emb_text; emb_audio; emb_visual; 3 presence flags] -> score
            self.early_head = _head(d_model + 2 * cfg.av_dim + len(MEMBERS), cfg.head_hidden, cfg.dropout)
        if cfg.strategy == "ume" and cfg.ume_weights == "learned":
            # softmax(member_logits) weighs text/audio/visual; 0 = the plain mean until fitted
            self.member_logits = nn.Parameter(torch.zeros(len(MEMBERS)))

    def member_weights(self) -> torch.Tensor | None:
        """(3,) softmax weights of text/audio/visual (learned UME), or None (a plain mean)."""
        logits = getattr(self, "member_logits", None)
        return None if logits is None else logits.softmax(-1)

    def forward(self, model: nn.Module, x: FusionInputs, prefix: TextPrefix, audio: torch.Tensor, visual: torch.Tensor,
                *, collect: bool = False) -> FusionOutput:
        """``model``: the owning FusionModel (its text/audio/visual heads); ``audio``/``visual``
        normalised (B, T, Dx); ``prefix``: the frozen LM's pass over the text."""
        emb_text = prefix.emb_text  # (B, D)
        emb_audio = self.audio_encoder(audio, x.audio_times, x.audio_mask)  # (B, A), audio only
        emb_visual = self.visual_encoder(visual, x.visual_times, x.visual_mask)  # (B, A), visual only
        pred_text = model.head_text(emb_text).squeeze(-1)  # (B,)
        pred_audio = model.head_audio(emb_audio).squeeze(-1)  # (B,)
        pred_visual = model.head_visual(emb_visual).squeeze(-1)  # (B,)
        present = torch.stack([prefix.text_mask.any(1), x.audio_mask.any(1), x.visual_mask.any(1)], -1).to(emb_audio.dtype)  # (B, 3)
        emb_fused = torch.cat([emb_text.to(emb_audio.dtype), emb_audio, emb_visual], -1)  # (B, D + 2A)
        if self.strategy == "early":
            gated = torch.cat([emb_text.to(emb_audio.dtype) * present[:, :1], emb_audio * present[:, 1:2],
                               emb_visual * present[:, 2:], present], -1)  # (B, D + 2A + 3) absent modality = zeros, flag 0
            pred_fused = self.early_head(gated).squeeze(-1)  # (B,)
        else:  # late, ume: (weighted) mean of the members present
            preds = torch.stack([pred_text, pred_audio, pred_visual], -1)  # (B, 3)
            pred_fused = weighted_mean(preds, present, self.member_weights())  # (B,)
        B, D = emb_text.shape
        key_mod, key_times, key_mask = key_layout(x)  # (B, K) each
        return FusionOutput(
            pred_fused=pred_fused,
            pred_text=pred_text,
            pred_audio=pred_audio,
            pred_visual=pred_visual,
            pred_tokens=pred_fused.new_zeros(B, 0),  # (B, 0) no fusion tokens
            emb_fused=emb_fused,
            emb_text=emb_text,
            emb_audio=emb_audio,
            emb_visual=emb_visual,
            gates=pred_fused.new_zeros(0, 2),  # (0, 2) no blocks
            key_modality=key_mod,
            key_times=key_times,
            key_mask=key_mask,
            cross_attention=() if collect else None,
            token_states=emb_text.new_zeros(B, len(model.layers) + 1, 0, D) if collect else None,  # (B, n_layers+1, 0, D)
            text_states=prefix.text_states if collect else None,
            lm_logits=None,
            block_updates=None,
        )


def member_parameters(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """The trained parameters of each UME member (text / audio / visual); they share none.

    Why: members are trained independently (each on its own loss, gradients clipped per
    member), and tests check that one member's loss gives no gradient to another's parameters.
    """
    sf = model.strategy_fusion
    if sf is None:
        raise ValueError("member_parameters needs a late / early / ume model")
    return {
        "text": list(model.head_text.parameters()),
        "audio": list(sf.audio_encoder.parameters()) + list(model.head_audio.parameters()),
        "visual": list(sf.visual_encoder.parameters()) + list(model.head_visual.parameters()),
    }
