"""The Inspection record: what the model computed for one clip, as plain arrays.

Figures and pages read this, never the model. It is saved as JSON + npz, keyed by the clip's
content hash and the checkpoint hash, and two of them (two checkpoints, or before/after a
counterfactual) can be compared with :func:`compare_inspections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviz.records.serialize import register_record

from mmviz.records.modalities import KEY_MODALITIES as MODALITY_NAMES  # noqa: E402

#: ``FusionConfig.strategy`` values in words (the names are checked against the model's in tests)
STRATEGY_LABELS: dict[str, str] = {
    "deep": "deep fusion",
    "late": "late fusion",
    "early": "early fusion",
    "ume": "uni-modal ensemble (UME)",
    "umt": "deep fusion taught by uni-modal teachers (UMT)",
}


@register_record
@dataclass(frozen=True)
class Predictions:
    """Sentiment scores on the training scale ([-3, 3] for the default model)."""

    fused: float
    text: float
    audio: float
    visual: float
    tokens: np.ndarray  # (N,) per-fusion-token head


@register_record
@dataclass(frozen=True)
class Inspection:
    """One clip through one checkpoint.

    cross_attention: float32 (n_blocks, H, N, K): block b, head h, fusion token n, key k;
        each row sums to 1 over the clip's K valid keys.
    key_modality: int8 (K,) index into ``MODALITY_NAMES`` (key 0 is the null key).
    key_times: float64 (K,) clip seconds of each key (NaN for the null key).
    block_layers: LM layer index after which each block runs.
    gates: float32 (n_blocks, 2) sigmoid gates [cross-attention, feed-forward].
    token_states: float32 (n_layers+1, N, D) fusion-token hidden states after the embedding
        and after every LM layer (and its block).
    embeddings: pooled vectors "text" (D), "audio" (A), "visual" (A), "fused" (D).
    text_tokens: the LM tokens of the transcript as strings (what word attributions label).
    notes: plain-words remarks for users, e.g. what the model did not read of a long clip.
    distance: per present branch ("text", "audio", "visual"), how far its pooled embedding lies
        from the checkpoint's training data, as a ratio to the training clips' own 99th
        percentile (about 1 or below = familiar); empty when the checkpoint has no statistics.
    unshrunk: per branch, the unimodal head's output before the distance shrinkage;
        ``predictions.text/audio/visual`` are after it (see ``models/distance.py``).
    block_updates: float32 (n_blocks, N, 2) how much each fusion block changed each fusion
        token on this clip: ``‖gated branch output‖ / ‖residual it is added to‖`` for the
        cross-attention (column 0) and the feed-forward (column 1), as the model's
        ``FusionBlock.forward`` computed it. Unlike ``gates`` (constants of the checkpoint),
        these depend on the clip. None in records saved before it was recorded.
    strategy: how the checkpoint fuses the modalities (``FusionConfig.strategy``; records saved
        before it was recorded are "deep"). Late, early and uni-modal-ensemble checkpoints have
        no fusion tokens: their ``cross_attention`` is (0, 0, 0, K), ``token_states``
        (n_layers+1, 0, D), ``gates`` (0, 2), and their "fused" embedding is
        ``[text; audio; visual]``. :attr:`has_fusion_tokens` says which; :attr:`strategy_label`
        names it for users.
    """

    clip_id: str
    content_hash: str
    checkpoint_hash: str
    backbone: str
    predictions: Predictions
    cross_attention: np.ndarray
    key_modality: np.ndarray
    key_times: np.ndarray
    block_layers: tuple[int, ...]
    gates: np.ndarray
    token_states: np.ndarray
    embeddings: dict
    text_tokens: tuple[str, ...]
    input_sizes: dict
    device: str
    timings: dict
    created: str
    mmviz_version: str
    label: float | None = None
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    block_updates: np.ndarray | None = None
    distance: dict = field(default_factory=dict)
    unshrunk: dict = field(default_factory=dict)
    strategy: str = "deep"

    @property
    def has_fusion_tokens(self) -> bool:
        """False for strategies without fusion tokens (late, early, uni-modal ensemble)."""
        return self.n_blocks > 0 and self.n_tokens > 0

    @property
    def strategy_label(self) -> str:
        """The strategy in words ("late fusion"), as pages and reports name it."""
        return STRATEGY_LABELS.get(self.strategy, self.strategy)

    def no_fusion_tokens_note(self) -> str:
        """The sentence views that need fusion tokens show instead of failing."""
        return (f"This checkpoint's strategy ({self.strategy_label}) has no fusion tokens: there is no cross-attention, "
                "no gates and no per-token view to show. Its predictions, contributions and words are explained as usual.")

    @property
    def n_blocks(self) -> int:
        return int(self.cross_attention.shape[0])

    @property
    def n_tokens(self) -> int:
        return int(self.cross_attention.shape[2])

    def key_mask(self, modality: str) -> np.ndarray:
        """Boolean (K,) mask of the keys of one modality ("null", "audio" or "visual")."""
        return self.key_modality == MODALITY_NAMES.index(modality)

    def predicted_class(self, scale: float = 0.0) -> str:
        s = self.predictions.fused
        return "positive" if s > scale else "negative" if s < -scale else "neutral"


def compare_inspections(a: Inspection, b: Inspection) -> dict:
    """What differs between two inspections of the same clip (e.g. two checkpoints)."""
    pa, pb = a.predictions, b.predictions
    out = {
        "same_clip": a.content_hash == b.content_hash,
        "same_checkpoint": a.checkpoint_hash == b.checkpoint_hash,
        "prediction_delta": {k: getattr(pb, k) - getattr(pa, k) for k in ("fused", "text", "audio", "visual")},
    }
    if a.gates.shape == b.gates.shape:
        out["gate_delta"] = (b.gates - a.gates).tolist()
    if a.cross_attention.shape == b.cross_attention.shape:
        out["attention_l1"] = float(np.abs(b.cross_attention - a.cross_attention).sum(-1).mean())
    for k in a.embeddings:
        if k in b.embeddings and a.embeddings[k].shape == b.embeddings[k].shape:
            x, y = a.embeddings[k], b.embeddings[k]
            out.setdefault("embedding_cosine", {})[k] = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))
    return out
