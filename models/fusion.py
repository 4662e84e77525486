"""The DeepMLF-style fusion model, top to bottom in one file.

Read it in this order: inputs -> audio-visual encoder -> LM layers with multimodal blocks ->
heads -> outputs.

* A frozen decoder LM reads the transcript. N learnable *fusion tokens* are appended after
  the text. Because the LM is causal, text positions never attend to fusion positions: the
  text hidden states are exactly independent of audio and video (tested bit-for-bit).
* After chosen LM layers a :class:`FusionBlock` lets the fusion tokens (and only them)
  cross-attend to the audio-visual sequence, then applies a feed-forward; both residual
  branches are scaled by gates ``sigmoid(g)`` with ``g`` initialised at 0 (gate 0.5).
* The audio-visual sequence keeps every key identifiable: key 0 is a learned *null* key
  ("read nothing"), then the audio steps, then the visual steps, each with a modality
  embedding and a time encoding in clip seconds. A cross-attention row therefore says which
  modality and which moment a token read.
* Heads: fused (mean of fusion tokens, beside the mean text state when
  ``cfg.fused_reads_text``), text-only (mean of text states — of the last layer, or of
  ``cfg.text_read_layer``, where a probe finds sentiment), audio-only and visual-only
  (pooled encoder outputs), and a per-token head. With ``cfg.aligner == "shared-prompt"`` the
  unimodal heads and the encoder read the aligner's output instead (``aligner.py``). What each head is trained to predict is
  ``cfg.head_targets`` (see ``losses.py``).
* ``cfg.strategy`` other than "deep"/"umt" (late, early, uni-modal ensemble) builds no fusion
  tokens, encoder or blocks: :class:`.strategies.StrategyFusion` computes the output instead.
* The forward pass is split in two, which is exactly equivalent to running the LM over
  ``[text; fusion tokens]`` at once: :meth:`FusionModel.encode_text` runs the frozen LM over
  the text alone and keeps every layer's keys/values (a :class:`TextPrefix`); the fusion
  pass then runs only the N fusion tokens through the layers, attending to that prefix.
  Text states therefore cannot depend on audio/video by construction, and anything that
  varies only the audio-visual input (training epochs, Shapley subsets, IG steps,
  counterfactuals) reuses one prefix instead of re-reading the text.
* Both passes run the frozen LM's decoder layers through :func:`.lm_layer.run_layer`, which
  computes a layer from its parts and returns or prepends keys/values itself, so no cache
  object (transformers' private, deprecated ``past_key_values`` protocol) is involved.

Shapes use B=batch, L=text tokens, N=fusion tokens, D=LM width, Ta/Tv=audio/visual steps,
K=1+Ta+Tv keys, A=audio-visual width, H=cross-attention heads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .aligner import SharedPromptAligner
from .mi import mi_estimator
from .config import FusionConfig
from .distance import BRANCHES, BranchDistance, shrink
from .lm_layer import LayerKV, attention_bias, check_layer, run_layer

MODALITY_NULL, MODALITY_AUDIO, MODALITY_VISUAL = 0, 1, 2
MODALITY_NAMES = ("null", "audio", "visual")


# ----------------------------------------------------------------------------- inputs
@dataclass
class FusionInputs:
    """One batch, as tensors. Built from ClipFeatures by ``mmviz.inference.batching``.

    Text is LEFT-padded so the fusion tokens always sit right after the last real token.
    Audio/visual values are raw descriptors (the model normalises them); NaN = unmeasured.
    """

    input_ids: torch.Tensor  # (B, L) long
    text_mask: torch.Tensor  # (B, L) bool, True = real token
    audio: torch.Tensor  # (B, Ta, Da) float
    audio_mask: torch.Tensor  # (B, Ta) bool
    audio_times: torch.Tensor  # (B, Ta) seconds
    visual: torch.Tensor  # (B, Tv, Dv) float
    visual_mask: torch.Tensor  # (B, Tv) bool
    visual_times: torch.Tensor  # (B, Tv) seconds

    @property
    def batch_size(self) -> int:
        return int(self.input_ids.shape[0])

    def to(self, device: torch.device | str) -> "FusionInputs":
        return FusionInputs(**{k: v.to(device) for k, v in self.__dict__.items()})

    def index(self, idx: torch.Tensor | slice | list[int]) -> "FusionInputs":
        return FusionInputs(**{k: v[idx] for k, v in self.__dict__.items()})

    def repeat(self, n: int) -> "FusionInputs":
        """Each example repeated ``n`` times (consecutively) — for batched attribution passes."""
        return FusionInputs(**{k: v.repeat_interleave(n, dim=0) for k, v in self.__dict__.items()})


@dataclass
class FusionOutput:
    """What one forward pass computed. Fields after ``embeddings`` are None unless collected."""

    pred_fused: torch.Tensor  # (B,)
    pred_text: torch.Tensor  # (B,)
    pred_audio: torch.Tensor  # (B,)
    pred_visual: torch.Tensor  # (B,)
    pred_tokens: torch.Tensor  # (B, N) per-fusion-token predictions
    emb_fused: torch.Tensor  # (B, D)
    emb_text: torch.Tensor  # (B, D)
    emb_audio: torch.Tensor  # (B, A)
    emb_visual: torch.Tensor  # (B, A)
    gates: torch.Tensor  # (n_blocks, 2) [attention gate, feed-forward gate], in (0, 1)
    key_modality: torch.Tensor  # (B, K) 0 null / 1 audio / 2 visual
    key_times: torch.Tensor  # (B, K) seconds (NaN for the null key)
    key_mask: torch.Tensor  # (B, K) bool
    cross_attention: tuple[torch.Tensor, ...] | None = None  # per block (B, H, N, K), rows sum to 1
    token_states: torch.Tensor | None = None  # (B, n_layers+1, N, D) after embedding + each layer
    text_states: torch.Tensor | None = None  # (B, L, D) final LM layer (pre-norm)
    lm_logits: torch.Tensor | None = None  # (B, vocab) LM head on the last fusion token
    # (B, n_blocks, N, 2) per block and token: ‖gated cross-attention update‖ / ‖residual‖ and
    # ‖gated feed-forward update‖ / ‖residual‖ (see FusionBlock.forward)
    block_updates: torch.Tensor | None = None
    # (B, 3) text/audio/visual: distance to the training embeddings as a ratio to their 99th
    # percentile (NaN when the checkpoint has no distance statistics; see models/distance.py)
    distance: torch.Tensor | None = None
    # (B, 3) text/audio/visual head outputs before the distance shrinkage (pred_* are after it)
    pred_unshrunk: torch.Tensor | None = None
    # (B, 3) bool: the clip has text / audio / visual (a real token; a step with a measured value)
    modality_present: torch.Tensor | None = None


@dataclass
class TextPrefix:
    """The frozen LM's pass over the text alone, reusable for any audio-visual input."""

    keys: tuple[torch.Tensor, ...]  # per LM layer (B, kv_heads, L, head_dim), RoPE applied
    values: tuple[torch.Tensor, ...]  # per LM layer (B, kv_heads, L, head_dim)
    text_mask: torch.Tensor  # (B, L) bool
    text_states: torch.Tensor  # (B, L, D) last LM layer, before the final norm
    emb_text: torch.Tensor  # (B, D) mean of the read text states (final-normed last layer, or cfg.text_read_layer)
    # Optional (see FusionModel.precompute_fusion): the fusion tokens' states up to the first
    # fusion block, which cannot depend on audio/video either.
    fusion_pre: torch.Tensor | None = None  # (B, N, D) after the LM part of the first block's layer
    fusion_pre_states: torch.Tensor | None = None  # (B, first+1, N, D) after the embedding and each earlier layer
    # (B, D) what the text head reads when cfg.text_head_layer is set (None: it reads emb_text)
    emb_text_head: torch.Tensor | None = None

    def layer_kv(self, i: int) -> LayerKV:
        """LM layer ``i``'s text keys/values, for the fusion pass to attend to."""
        return LayerKV(self.keys[i], self.values[i])  # (B, kv_heads, L, head_dim) each

    def _map(self, fn) -> "TextPrefix":
        opt = lambda t: None if t is None else fn(t)  # noqa: E731
        return TextPrefix(tuple(fn(k) for k in self.keys), tuple(fn(v) for v in self.values),
                          fn(self.text_mask), fn(self.text_states), fn(self.emb_text),
                          opt(self.fusion_pre), opt(self.fusion_pre_states), opt(self.emb_text_head))

    def repeat(self, n: int) -> "TextPrefix":
        """Each example repeated ``n`` times (consecutively), like FusionInputs.repeat."""
        return self._map(lambda t: t.repeat_interleave(n, dim=0))

    def index(self, idx) -> "TextPrefix":
        return self._map(lambda t: t[idx])

    def detach(self) -> "TextPrefix":
        return self._map(lambda t: t.detach())

    @staticmethod
    def stack(prefixes: list["TextPrefix"]) -> "TextPrefix":
        """Batch single-example prefixes of different lengths by left-padding (pads are masked)."""
        L = max(p.text_mask.shape[1] for p in prefixes)

        def pad(t: torch.Tensor, dim: int) -> torch.Tensor:
            n = L - t.shape[dim]
            if n == 0:
                return t
            shape = list(t.shape)
            shape[dim] = n
            return torch.cat([t.new_zeros(shape), t], dim=dim)

        n_layers = len(prefixes[0].keys)
        return TextPrefix(
            tuple(torch.cat([pad(p.keys[i], 2) for p in prefixes]) for i in range(n_layers)),
            tuple(torch.cat([pad(p.values[i], 2) for p in prefixes]) for i in range(n_layers)),
            torch.cat([pad(p.text_mask, 1) for p in prefixes]),
            torch.cat([pad(p.text_states, 1) for p in prefixes]),
            torch.cat([p.emb_text for p in prefixes]),
            None if prefixes[0].fusion_pre is None else torch.cat([p.fusion_pre for p in prefixes]),
            None if prefixes[0].fusion_pre_states is None else torch.cat([p.fusion_pre_states for p in prefixes]),
            None if prefixes[0].emb_text_head is None else torch.cat([p.emb_text_head for p in prefixes]),
        )


# ------------------------------------------------------------- audio-visual encoder
def time_encoding(times: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encoding of clip time in seconds, periods 0.2 s .. 200 s.  (..., dim)"""
    half = dim // 2
    periods = torch.logspace(math.log10(0.2), math.log10(200.0), half, device=times.device)  # (half,)
    ang = 2 * math.pi * torch.nan_to_num(times, nan=0.0)[..., None] / periods  # (..., half)
    enc = torch.cat([ang.sin(), ang.cos()], dim=-1)  # (..., 2*half)
    return F.pad(enc, (0, dim - 2 * half))  # (..., dim)


class AVEncoder(nn.Module):
    """Projects each modality, tags it (modality + time), and mixes both in a small Transformer."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        A = cfg.av_dim
        self.audio_proj = nn.Linear(max(cfg.audio_dim, 1), A)
        self.visual_proj = nn.Linear(max(cfg.visual_dim, 1), A)
        self.modality = nn.Embedding(3, A)  # null / audio / visual
        layer = nn.TransformerEncoderLayer(
            A, cfg.av_heads, A * cfg.av_ff_mult, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.av_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(A)

    def forward(self, x: FusionInputs, audio: torch.Tensor, visual: torch.Tensor):
        return self.mix(x, *self.embed(x, audio, visual))

    def embed(self, x: FusionInputs, audio: torch.Tensor, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each modality's steps projected to width A with their time encoding (no modality tag yet)."""
        a = self.audio_proj(audio) + time_encoding(x.audio_times, self.norm.normalized_shape[0])  # (B, Ta, A)
        v = self.visual_proj(visual) + time_encoding(x.visual_times, self.norm.normalized_shape[0])  # (B, Tv, A)
        return a, v

    def _tagged(self, x: FusionInputs, a: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[null; audio; visual] steps tagged with their modality, and which are real.  -> (B, K, A), (B, K)"""
        B = x.batch_size
        a = a + self.modality.weight[MODALITY_AUDIO]  # (B, Ta, A)
        v = v + self.modality.weight[MODALITY_VISUAL]  # (B, Tv, A)
        null = self.modality.weight[MODALITY_NULL].expand(B, 1, -1)  # (B, 1, A)
        ones = torch.ones(B, 1, dtype=torch.bool, device=a.device)
        return torch.cat([null, a, v], dim=1), torch.cat([ones, x.audio_mask, x.visual_mask], dim=1)

    def mix(self, x: FusionInputs, a: torch.Tensor, v: torch.Tensor):
        """Tag the embedded steps with their modality, prepend the null key and mix them in the Transformer."""
        B, Ta, Tv = x.batch_size, a.shape[1], v.shape[1]
        seq, mask = self._tagged(x, a, v)  # (B, K, A), (B, K)
        enc = self.norm(self.encoder(seq, src_key_padding_mask=~mask))  # (B, K, A)
        emb_audio = _masked_mean(enc[:, 1 : 1 + Ta], x.audio_mask)  # (B, A)
        emb_visual = _masked_mean(enc[:, 1 + Ta :], x.visual_mask)  # (B, A)
        modality = torch.cat(
            [
                torch.full((B, 1), MODALITY_NULL, device=seq.device),
                torch.full((B, Ta), MODALITY_AUDIO, device=seq.device),
                torch.full((B, Tv), MODALITY_VISUAL, device=seq.device),
            ],
            dim=1,
        )  # (B, K)
        nan = torch.full((B, 1), float("nan"), device=seq.device)
        times = torch.cat([nan, x.audio_times.float(), x.visual_times.float()], dim=1)  # (B, K)
        return enc, mask, modality, times, emb_audio, emb_visual

    def separate(self, x: FusionInputs, a: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each modality encoded on its own (same weights, a block-diagonal attention mask): audio
        steps attend to audio steps and the null key only, visual steps to visual ones, the null
        key to itself. Why: what the audio head reads must not carry the face (``branch_view``).
        -> emb_audio (B, A), emb_visual (B, A)"""
        Ta = a.shape[1]
        seq, mask = self._tagged(x, a, v)  # (B, K, A), (B, K)
        group = torch.cat([torch.zeros(1, dtype=torch.long), torch.ones(Ta, dtype=torch.long),
                           torch.full((v.shape[1],), 2, dtype=torch.long)]).to(seq.device)  # (K,)
        blocked = group[:, None] != group[None, :]  # (K, K) True = may not attend
        blocked[1:, 0] = False  # every step may read the null key
        enc = self.norm(self.encoder(seq, mask=blocked, src_key_padding_mask=~mask))  # (B, K, A)
        return _masked_mean(enc[:, 1 : 1 + Ta], x.audio_mask), _masked_mean(enc[:, 1 + Ta :], x.visual_mask)


def modality_present(x: FusionInputs, text_mask: torch.Tensor) -> torch.Tensor:
    """(B, 3) bool: text has a real token; audio / visual has a step with any measured (non-NaN) value."""
    audio = (x.audio_mask & torch.isfinite(x.audio).any(-1)).any(1)  # (B,)
    visual = (x.visual_mask & torch.isfinite(x.visual).any(-1)).any(1)  # (B,)
    return torch.stack([text_mask.any(1), audio, visual], dim=1)  # (B, 3)


def _masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid steps; zeros when none are valid.  (B, T, X), (B, T) -> (B, X)"""
    m = mask.to(h.dtype)[..., None]  # (B, T, 1)
    return (h * m).sum(1) / m.sum(1).clamp_min(1.0)  # (B, X)


# ------------------------------------------------------------------ fusion block
class FusionBlock(nn.Module):
    """Gated cross-attention (pre-norm, multi-head, eager so weights are returned) + gated FF."""

    def __init__(self, d_model: int, d_av: int, heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"LM width {d_model} is not divisible by {heads} cross-attention heads")
        self.heads, self.head_dim = heads, d_model // heads
        self.norm_q = nn.LayerNorm(d_model)
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_av, d_model)
        self.v = nn.Linear(d_av, d_model)
        self.o = nn.Linear(d_model, d_model)
        self.norm_ff = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_model * ff_mult), nn.GELU(), nn.Linear(d_model * ff_mult, d_model))
        self.drop = nn.Dropout(dropout)
        self.gate_attn = nn.Parameter(torch.zeros(()))  # sigmoid(0) = 0.5
        self.gate_ff = nn.Parameter(torch.zeros(()))

    def gates(self) -> torch.Tensor:
        return torch.stack([self.gate_attn, self.gate_ff]).sigmoid()  # (2,)

    def forward(self, f: torch.Tensor, kv: torch.Tensor, kv_mask: torch.Tensor):
        """(new states, attention weights, update sizes) of the fusion tokens ``f``.

        The update sizes (B, N, 2) are ``‖gated branch output‖ / ‖residual it is added to‖``
        for the cross-attention and the feed-forward branch of each token: how much this block
        changed each token on this input. The gates alone cannot say that (they are constants
        of the model); the branch outputs depend on the clip.
        """
        B, N, D = f.shape
        K = kv.shape[1]
        q = self.q(self.norm_q(f)).view(B, N, self.heads, self.head_dim).transpose(1, 2)  # (B, H, N, hd)
        k = self.k(kv).view(B, K, self.heads, self.head_dim).transpose(1, 2)  # (B, H, K, hd)
        v = self.v(kv).view(B, K, self.heads, self.head_dim).transpose(1, 2)  # (B, H, K, hd)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (B, H, N, K)
        scores = scores.masked_fill(~kv_mask[:, None, None, :], float("-inf"))  # (B, H, N, K)
        weights = scores.softmax(dim=-1)  # (B, H, N, K); the null key keeps every row finite
        ctx = (self.drop(weights) @ v).transpose(1, 2).reshape(B, N, D)  # (B, N, D)
        g_attn, g_ff = self.gates()
        upd_attn = g_attn * self.drop(self.o(ctx))  # (B, N, D) what the gated cross-attention adds
        size_attn = upd_attn.norm(dim=-1) / f.norm(dim=-1).clamp_min(1e-12)  # (B, N) relative to the residual
        f = f + upd_attn  # (B, N, D)
        upd_ff = g_ff * self.drop(self.ff(self.norm_ff(f)))  # (B, N, D) what the gated feed-forward adds
        size_ff = upd_ff.norm(dim=-1) / f.norm(dim=-1).clamp_min(1e-12)  # (B, N)
        f = f + upd_ff  # (B, N, D)
        return f, weights, torch.stack([size_attn, size_ff], dim=-1)  # (B, N, D), (B, H, N, K), (B, N, 2)


class LMLayerWithFusion(nn.Module):
    """One frozen LM decoder layer applied to the fusion tokens, then (optionally) a FusionBlock.

    ``lm_layer`` is the backbone's own decoder layer; we read its parts through
    :func:`.lm_layer.run_layer` rather than calling it (see that module for why).
    """

    def __init__(self, lm_layer: nn.Module, block: FusionBlock | None) -> None:
        super().__init__()
        self.lm_layer = lm_layer
        self.block = block

    def forward(self, f, attn_bias, rotary, text_kv: LayerKV, kv, kv_mask):
        f, _ = run_layer(self.lm_layer, f, attn_bias, rotary, prefix=text_kv)  # (B, N, D)
        if self.block is None:
            return f, None, None
        return self.block(f, kv, kv_mask)  # (B, N, D), (B, H, N, K), (B, N, 2)


# --------------------------------------------------------------------- the model
def _head(d_in: int, hidden: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(d_in), nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


class FusionModel(nn.Module):
    """DeepMLF: frozen LM + fusion tokens + gated cross-attention into an AV encoder."""

    def __init__(self, cfg: FusionConfig, lm: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        object.__setattr__(self, "_lm", lm)  # kept for generate(); its modules are registered below
        inner = lm.model
        for i, layer in enumerate(inner.layers):
            check_layer(layer, i)  # BackboneError if run_layer would compute it differently
        D = lm.config.hidden_size
        self.d_model = D
        self.embed_tokens = inner.embed_tokens
        self.rotary = inner.rotary_emb
        self.final_norm = inner.norm
        self.lm_head = lm.lm_head
        deep = cfg.has_fusion_tokens  # False: late / early / ume, whose parts are in strategies.py
        self.fusion_layer_ids = cfg.resolved_fusion_layers(len(inner.layers)) if deep else ()
        if cfg.text_head_layer is not None and not 0 <= cfg.text_head_layer <= len(inner.layers):
            raise ValueError(f"text_head_layer {cfg.text_head_layer} is outside the LM's 0..{len(inner.layers)} hidden states")
        self.fusion_tokens = nn.Parameter(torch.randn(cfg.n_fusion_tokens, D) * inner.embed_tokens.weight.std()) if deep else None
        self.av_encoder = AVEncoder(cfg) if deep else None
        self.layers = nn.ModuleList(
            LMLayerWithFusion(
                layer,
                FusionBlock(D, cfg.av_dim, cfg.cross_heads, cfg.ff_mult, cfg.dropout) if i in self.fusion_layer_ids else None,
            )
            for i, layer in enumerate(inner.layers)
        )
        self.head_fused = _head(2 * D if cfg.fused_reads_text else D, cfg.head_hidden, cfg.dropout) if deep else None
        self.head_text = _head(cfg.av_dim if cfg.aligner != "none" else D, cfg.head_hidden, cfg.dropout)  # reads the aligned text
        self.head_audio = _head(cfg.av_dim, cfg.head_hidden, cfg.dropout)
        self.head_visual = _head(cfg.av_dim, cfg.head_hidden, cfg.dropout)
        self.head_token = nn.Sequential(nn.LayerNorm(D), nn.Linear(D, 1)) if deep else None
        from .strategies import StrategyFusion  # here, not at the top: strategies.py imports this module

        self.strategy_fusion = None if deep else StrategyFusion(cfg, D)
        # per-branch distance to the training data (fitted after training; see models/distance.py)
        self.distance = BranchDistance({"text": D, "audio": cfg.av_dim, "visual": cfg.av_dim}) if cfg.branch_distance else None
        for name, vals, n in (("audio", cfg.audio_mean, cfg.audio_dim), ("visual", cfg.visual_mean, cfg.visual_dim)):
            std = getattr(cfg, f"{name}_std")
            self.register_buffer(f"{name}_mean", torch.tensor(vals or [0.0] * n, dtype=torch.float32), persistent=False)
            self.register_buffer(f"{name}_std", torch.tensor(std or [1.0] * n, dtype=torch.float32), persistent=False)
        # optional parts, absent by default (the model is then exactly the one without them)
        self.aligner = SharedPromptAligner(cfg, D) if cfg.aligner == "shared-prompt" else None
        self.mi = mi_estimator(cfg, D)  # InfoNCE critic of the training loss only, or None (models/mi.py)
        for p in self._frozen_parameters():
            p.requires_grad_(False)

    # -- which parameters are ours (trained, checkpointed) vs the frozen LM's
    def _frozen_parameters(self):
        for m in (self.embed_tokens, self.rotary, self.final_norm, self.lm_head):
            yield from m.parameters()
        for layer in self.layers:
            yield from layer.lm_layer.parameters()

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Only the parameters mmviz trains: what a checkpoint holds."""
        state = {n: p.detach() for n, p in self.named_parameters() if p.requires_grad}
        if self.distance is not None:  # fitted statistics, not trained, but part of what the checkpoint computes
            state |= {f"distance.{n}": b.detach() for n, b in self.distance.named_buffers()}
        return state

    @property
    def blocks(self) -> list[FusionBlock]:
        return [layer.block for layer in self.layers if layer.block is not None]

    @property
    def lm(self) -> nn.Module:
        return self._lm

    def normalise(self, values: torch.Tensor, which: str) -> torch.Tensor:
        """z-score with the checkpoint's statistics; NaN (unmeasured) becomes 0 (= the mean)."""
        mean, std = getattr(self, f"{which}_mean"), getattr(self, f"{which}_std")
        if values.shape[-1] == 0:
            return values.new_zeros(*values.shape[:-1], 1)  # (B, T, 1) placeholder for a modality-less config
        z = (values - mean) / std.clamp_min(1e-6)  # (B, T, Dx)
        return torch.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).clamp(-10, 10)

    def encode_text(self, input_ids: torch.Tensor, text_mask: torch.Tensor, text_embeds: torch.Tensor | None = None) -> TextPrefix:
        """Run the frozen LM over the (left-padded) text alone, keeping every layer's K/V."""
        L = input_ids.shape[1]
        h = self.embed_tokens(input_ids) if text_embeds is None else text_embeds  # (B, L, D)
        pos = (text_mask.long().cumsum(1) - 1).clamp_min(0)  # (B, L)
        attn_bias = attention_bias(text_mask, L, h.dtype)  # (B, 1, L, L) causal, pads unread
        rotary = self.rotary(h, pos)  # (cos, sin) each (B, L, head_dim)
        read, head_read = self.text_read_layer(), self.cfg.text_head_layer
        keys, values = [], []
        read_h = h if read == 0 else None  # (B, L, D) the hidden state the text path reads
        emb_head = _masked_mean(h, text_mask) if head_read == 0 else None  # (B, D) the text head's own read
        for i, layer in enumerate(self.layers, 1):
            h, kv = run_layer(layer.lm_layer, h, attn_bias, rotary)  # (B, L, D), K/V each (B, kv_heads, L, head_dim)
            keys.append(kv.keys)
            values.append(kv.values)
            if i == read:
                read_h = h  # (B, L, D) after decoder layer i
            if i == head_read:
                emb_head = _masked_mean(h, text_mask)  # (B, D)
        # the text path: the last layer through the final norm, or cfg.text_read_layer's raw state
        emb_text = _masked_mean(self.final_norm(h) if read_h is None else read_h, text_mask)  # (B, D)
        return TextPrefix(tuple(keys), tuple(values), text_mask, h, emb_text, emb_text_head=emb_head)

    def text_read_layer(self) -> int | None:
        """The hidden-state index the text path reads (None = last layer, final-normed)."""
        i = self.cfg.text_read_layer
        if i is not None and i > len(self.layers):
            raise ValueError(f"text_read_layer {i} is past the LM's {len(self.layers)} layers")
        return i

    def _fusion_frame(self, prefix: TextPrefix):
        """Positions, attention mask and rotary embeddings of the fusion tokens after ``prefix``."""
        B = prefix.text_mask.shape[0]
        N = self.cfg.n_fusion_tokens
        dev = prefix.text_mask.device
        f = self.fusion_tokens.to(prefix.text_states.dtype).expand(B, N, -1)  # (B, N, D)
        # fusion tokens continue the text: positions after the last real token; they see all
        # real text tokens and, causally, each other
        pos = prefix.text_mask.long().sum(1, keepdim=True) + torch.arange(N, device=dev)[None]  # (B, N)
        key_valid = torch.cat([prefix.text_mask, torch.ones(B, N, dtype=torch.bool, device=dev)], dim=1)  # (B, L+N)
        attn_bias = attention_bias(key_valid, N, f.dtype)  # (B, 1, N, L+N)
        return f, attn_bias, self.rotary(f, pos)  # (B, N, D), (B, 1, N, L+N), (cos, sin) each (B, N, head_dim)

    def precompute_fusion(self, prefix: TextPrefix) -> TextPrefix:
        """Also run the fusion tokens up to the first fusion block, once.

        Until the first block the fusion tokens have read only the text, so this part is the
        same for every audio-visual input: explainers that vary only audio/video (Shapley
        subsets, IG steps, occlusion, counterfactuals) reuse it and skip about half the LM.
        Not for training: it would freeze the fusion-token embeddings' gradient path.
        """
        if not self.fusion_layer_ids:  # a strategy without fusion tokens: nothing to pre-run
            return prefix
        f, attn_bias, rotary = self._fusion_frame(prefix)
        first = self.fusion_layer_ids[0]
        states = [f]
        for i, layer in enumerate(self.layers[: first + 1]):
            f, _ = run_layer(layer.lm_layer, f, attn_bias, rotary, prefix.layer_kv(i))  # (B, N, D)
            states.append(f)
        return TextPrefix(prefix.keys, prefix.values, prefix.text_mask, prefix.text_states, prefix.emb_text,
                          fusion_pre=f, fusion_pre_states=torch.stack(states[:-1], dim=1),  # (B, N, D), (B, first+1, N, D)
                          emb_text_head=prefix.emb_text_head)  # (B, N, D), (B, first+1, N, D)

    def forward(
        self,
        x: FusionInputs,
        *,
        collect: bool = False,
        text_embeds: torch.Tensor | None = None,
        prefix: TextPrefix | None = None,
    ) -> FusionOutput:
        """Run the model. ``collect`` also returns attention maps and per-layer token states.

        ``text_embeds`` (B, L, D) replaces the token embeddings of ``x.input_ids`` (word-level
        attribution interpolates there); ``prefix`` reuses an earlier :meth:`encode_text`
        (and :meth:`precompute_fusion`).
        """
        if prefix is None:
            prefix = self.encode_text(x.input_ids, x.text_mask, text_embeds)

        # audio-visual keys
        audio = self.normalise(x.audio.float(), "audio")  # (B, Ta, Da)
        visual = self.normalise(x.visual.float(), "visual")  # (B, Tv, Dv)
        if self.strategy_fusion is not None:  # late / early / ume: no fusion tokens (strategies.py)
            return self.strategy_fusion(self, x, prefix, audio, visual, collect=collect)
        a, v = self.av_encoder.embed(x, audio, visual)  # (B, Ta, A), (B, Tv, A)
        present = modality_present(x, prefix.text_mask)  # (B, 3)
        aligned = None
        if self.aligner is not None:  # the shared-prompt aligner (models/aligner.py): one space for all three
            aligned = self.aligner(prefix.emb_text, present[:, 0], a, x.audio_mask, v, x.visual_mask)
            a, v = aligned.audio_tokens, aligned.visual_tokens  # (B, Ta, A), (B, Tv, A)
        kv, kv_mask, key_mod, key_times, emb_audio, emb_visual = self.av_encoder.mix(x, a, v)  # (B, K, A)
        emb_text = prefix.emb_text  # (B, D)
        if aligned is not None:
            emb_text, emb_audio, emb_visual = aligned.text, aligned.audio, aligned.visual  # (B, A) each
        elif self.cfg.branch_view == "separate":  # the unimodal heads read each modality on its own
            emb_audio, emb_visual = self.av_encoder.separate(x, a, v)  # (B, A) each

        f, attn_bias, rotary = self._fusion_frame(prefix)  # (B, N, D), (B, 1, N, L+N), (cos, sin)
        weights_all, updates_all, states, start = [], [], [f] if collect else None, 0
        if prefix.fusion_pre is not None:  # layers before the first block were run once already
            first = self.fusion_layer_ids[0]
            f, w, u = self.layers[first].block(prefix.fusion_pre, kv, kv_mask)  # (B, N, D), (B, H, N, K), (B, N, 2)
            weights_all.append(w)
            updates_all.append(u)
            if collect:
                states = list(prefix.fusion_pre_states.unbind(1)) + [f]
            start = first + 1
        for i, layer in enumerate(self.layers[start:], start):
            f, w, u = layer(f, attn_bias, rotary, prefix.layer_kv(i), kv, kv_mask)  # (B, N, D), (B, H, N, K) | None, (B, N, 2) | None
            if w is not None:
                weights_all.append(w)
                updates_all.append(u)
            if collect:
                states.append(f)

        fus_n = self.final_norm(f)  # (B, N, D)
        emb_fused = fus_n.mean(1)  # (B, D)
        fused_in = torch.cat([emb_fused, prefix.emb_text.to(emb_fused.dtype)], -1) if self.cfg.fused_reads_text else emb_fused  # (B, 2D) | (B, D)
        gates = torch.stack([b.gates() for b in self.blocks]) if self.blocks else torch.zeros(0, 2)  # (n_blocks, 2)
        # the text head reads the aligned text, else its own layer when refitted there, else the text path's read
        emb_head = emb_text if aligned is not None or prefix.emb_text_head is None else prefix.emb_text_head  # (B, D) | (B, A)
        uni = torch.stack([self.head_text(emb_head).squeeze(-1), self.head_audio(emb_audio).squeeze(-1),
                           self.head_visual(emb_visual).squeeze(-1)], -1)  # (B, 3) text/audio/visual
        distance = unshrunk = None
        if self.distance is not None:
            distance = torch.stack([self.distance(b, e) for b, e in zip(BRANCHES, (emb_head, emb_audio, emb_visual))], -1)  # (B, 3)
            unshrunk, uni = uni, uni * shrink(distance).to(uni.dtype)  # (B, 3)
        return FusionOutput(
            pred_fused=self.head_fused(fused_in).squeeze(-1),
            pred_text=uni[:, 0],
            pred_audio=uni[:, 1],
            pred_visual=uni[:, 2],
            pred_tokens=self.head_token(fus_n).squeeze(-1),  # (B, N)
            emb_fused=emb_fused,
            emb_text=emb_text,
            emb_audio=emb_audio,
            emb_visual=emb_visual,
            gates=gates,
            key_modality=key_mod,
            key_times=key_times,
            key_mask=kv_mask,
            cross_attention=tuple(weights_all) if collect else None,
            block_updates=torch.stack(updates_all, dim=1) if collect and updates_all else None,  # (B, n_blocks, N, 2)
            token_states=torch.stack(states, dim=1) if collect else None,  # (B, n_layers+1, N, D)
            text_states=prefix.text_states if collect else None,
            lm_logits=self.lm_head(fus_n[:, -1]) if (collect or self.cfg.loss.lm > 0) else None,  # (B, vocab)
            distance=distance,
            pred_unshrunk=unshrunk,
            modality_present=present,
        )
