"""The explanation records: what each explainer computed for one clip, as plain values.

Every record is a frozen dataclass registered with :func:`register_record`, so it saves and
loads with :mod:`mmviz.records.serialize` (JSON summary + npz arrays) and can be compared with
``records_equal``. Every record carries the :class:`ExplainSettings` (including the seed) that
made it. Scores are on the model's training scale (sentiment in [-3, 3] for the default
model); times are seconds on the clip's clock.

Modalities are always named ``MODALITIES = ("text", "audio", "visual")``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from mmviz.records.serialize import register_record

from mmviz.records.modalities import MODALITIES  # noqa: E402,F401
from mmviz.features.ablate import BASELINES  # noqa: E402,F401 - the removal definitions live with the features
VERDICTS = ("dominant", "complementary", "conflicting")


@register_record
@dataclass(frozen=True)
class ExplainSettings:
    """How an explanation is computed (saved inside every record it makes).

    seed: seeds every random choice (random deletion orders in benchmarks; the methods here
        are otherwise deterministic).
    baseline: what a *removed* audio/visual input becomes —
        "mean": the checkpoint's training mean (the model's own "unmeasured" value; default),
        "zeros": raw descriptor values 0 (Captum's default; far from the data for e.g. pitch),
        "clip": another clip's values on this clip's time grid (``other=`` of the caller),
        "absent": the steps are dropped altogether (the model's native missing stream; for
        Shapley and counterfactuals only — gradient methods need a same-shape baseline and
        use "mean" instead, which their record says).
        A removed *transcript* is always the empty transcript (see ``mmviz.features.ablate``).
    ig_steps: integration steps of integrated gradients over audio/visual (one batched pass).
    word_steps: integration steps of the word attribution (each step is a full LM pass).
    ig_method: Captum's integration rule ("gausslegendre" or "riemann_trapezoid", ...).
    time_method: "integrated_gradients" (per step, summed over features) or "occlusion".
    occlusion_window: seconds per occluded window (time_method="occlusion").
    window: seconds of the "top window" summarised from a time attribution.
    mask_span: (start, end) seconds masked by the span counterfactual; None = middle third.
    shift_steps: audio-vs-video shifts (in audio steps, + = audio later) for counterfactuals.
    methods: explainer names to run; empty = every registered one that applies.
    batch_size: most examples in one forward pass (memory bound, not a result setting).
    """

    seed: int = 0
    baseline: str = "mean"
    ig_steps: int = 16
    word_steps: int = 16
    ig_method: str = "gausslegendre"
    time_method: str = "integrated_gradients"
    occlusion_window: float = 1.0
    window: float = 1.0
    mask_span: tuple[float, float] | None = None
    shift_steps: tuple[int, ...] = (-5, 5)
    methods: tuple[str, ...] = ()
    batch_size: int = 32

    def replace(self, **changes) -> "ExplainSettings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@register_record
@dataclass(frozen=True)
class ModalityShapley:
    """Exact Shapley values of the three modalities (8 subsets, one batched forward).

    values: {modality: phi} contribution to the fused score; ``sum(values) == full - base``
        exactly up to float64 rounding (computed in exact rational arithmetic).
    base: f(none) — every modality removed; full: f(all) — the clip as it is.
    interaction: full - base - sum_m (f({m}) - base): what the modalities do together beyond
        the sum of each one alone (> 0 synergy, < 0 redundancy / cancellation).
    subset_values: {"text+audio": f, ..., "none": f} the 8 coalition values.
    present: the modalities the clip actually has; an absent one gets exactly 0.
    baseline: how removed audio/visual was replaced (see ExplainSettings.baseline).
    text_removal: how the transcript was removed (plain words).
    """

    values: dict
    base: float
    full: float
    interaction: float
    subset_values: dict
    present: tuple[str, ...]
    baseline: str
    text_removal: str
    settings: ExplainSettings
    seed: int

    @property
    def top(self) -> str:
        return max(MODALITIES, key=lambda m: abs(self.values.get(m, 0.0)))


@register_record
@dataclass(frozen=True)
class ModalityIG:
    """Integrated gradients (Captum) summed per modality, with convergence deltas.

    totals: {modality: sum of attributions}. Two integration paths (both batched):
        audio+visual jointly from the baseline to the real values with the transcript as it
        is; text from pad-token embeddings to the real ones with audio and video as they are
        (the word attribution's path). Their sums therefore complete to different
        differences: ``deltas`` holds each path's completeness gap
        ``sum(attributions) - (f(x) - f(baseline))`` ({"audio+visual": d, "text": d}).
    delta: the largest |gap| (what the dashboard shows).
    prediction: f(x); path_baselines: {"audio+visual": f, "text": f} the baseline values.
    baseline: the audio/visual baseline actually used ("absent" is not possible for gradients).
    steps: {"audio+visual": n, "text": n}; method: Captum's integration rule.
    """

    totals: dict
    deltas: dict
    delta: float
    prediction: float
    path_baselines: dict
    baseline: str
    steps: dict
    method: str
    settings: ExplainSettings
    seed: int


@register_record
@dataclass(frozen=True)
class StepAttribution:
    """One modality's attribution over the clip's clock.

    modality: "audio" or "visual". times: float64 (T,) seconds of each step (its centre).
    values: float64 (T,) signed contribution of each step to the fused score (sum over features).
    feature_values: float32 (T, D) per step and feature (columns ``feature_names``), or (T, 0)
        for occlusion, which does not split features.
    step: seconds between steps.
    """

    modality: str
    times: np.ndarray
    values: np.ndarray
    feature_values: np.ndarray
    feature_names: tuple[str, ...]
    step: float
    kind: str = "attribution"


@register_record
@dataclass(frozen=True)
class TimeAttributions:
    """Per audio and visual step attributions, mapped to clip seconds.

    per_modality: one :class:`StepAttribution` per present modality (iterate the record).
    method: "integrated_gradients" or "occlusion".
    top_window: (modality, start s, end s) — the ``settings.window``-second window with the
        largest summed |attribution| over either modality (None when there are no steps).
    delta: integrated gradients' completeness gap (NaN for occlusion).
    baseline: what the removed steps became.
    """

    per_modality: tuple[StepAttribution, ...]
    method: str
    top_window: tuple | None
    delta: float
    baseline: str
    settings: ExplainSettings
    seed: int

    def __iter__(self):
        return iter(self.per_modality)

    def __len__(self) -> int:
        return len(self.per_modality)

    def get(self, modality: str) -> StepAttribution | None:
        return next((t for t in self.per_modality if t.modality == modality), None)


@register_record
@dataclass(frozen=True)
class WordAttributions:
    """Layer integrated gradients on the LM's input embeddings, summed per transcript word.

    words: (W,) transcript words; word_times: float64 (W, 2) start/end seconds.
    scores: float64 (W,) signed contribution of each word (sum of its tokens' attributions).
    tokens: (L,) the LM tokens as strings; token_scores: float64 (L,) each token's
        attribution (summed over the embedding width); token_word: int64 (L,) word index of
        each token (-1: belongs to no word).
    truncated: words beyond the model's max_text_tokens (not read, score 0).
    delta: completeness gap ``sum(token_scores) - (f(x) - f(pad text))``.
    prediction / baseline_prediction: f(x) and f(every token replaced by the pad token).
    """

    words: tuple[str, ...]
    word_times: np.ndarray
    scores: np.ndarray
    tokens: tuple[str, ...]
    token_scores: np.ndarray
    token_word: np.ndarray
    truncated: tuple[str, ...]
    delta: float
    prediction: float
    baseline_prediction: float
    steps: int
    method: str
    settings: ExplainSettings
    seed: int

    def __iter__(self):
        """Iterating the record yields (word, score) pairs."""
        return iter(zip(self.words, self.scores.tolist()))

    def __len__(self) -> int:
        return len(self.words)


@register_record
@dataclass(frozen=True)
class Verdict:
    """How the modalities combined, in one word and one sentence (rule in ``mmviz.explain.verdict``).

    kind: "dominant" | "complementary" | "conflicting". dominant: the modality with the largest
    |Shapley value|. text: plain words for users. shares: {modality: |phi| / sum |phi|}.
    """

    kind: str
    dominant: str
    text: str
    shares: dict
    rule: str
    settings: ExplainSettings
    seed: int


@register_record
@dataclass(frozen=True)
class CounterfactualResult:
    """One changed input and what the model said about it.

    name: for people ("drop audio", "mask 1.0–2.0 s", "shift audio +0.5 s", "swap visual with X").
    kind: drop | mask | shift | swap. fused: the new fused prediction; delta: fused - original.
    details: what exactly changed (modality, span, steps, seconds, other clip id).
    """

    name: str
    kind: str
    fused: float
    delta: float
    details: dict = field(default_factory=dict)


@register_record
@dataclass(frozen=True)
class Counterfactuals:
    """The standard set of counterfactuals of one clip (iterate the record for the items)."""

    items: tuple[CounterfactualResult, ...]
    original: float
    baseline: str
    settings: ExplainSettings
    seed: int

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@register_record
@dataclass(frozen=True)
class Explanation:
    """Everything ``explain_clip`` found about one clip through one checkpoint.

    prediction: the fused score of the clip as it is.
    shapley / integrated_gradients / time_attributions / word_attributions / counterfactuals:
        the explainers' records (None when that method did not apply or was not asked for).
    verdict: built from the Shapley values.
    attention: the attention curves record of ``mmviz.explain.attention`` (None if unavailable).
    attention_vs_attribution: {"audio": rho, "visual": rho} Spearman rank correlation of
        attention with |time attribution| (NaN when undefined).
    token_diagnostics: ``mmviz.explain.tokens`` record (None if unavailable).
    map_xy: position on the fitted reference map passed as ``reference`` (None without one);
    map_space: which embedding that map holds.
    extra: {name: record} explainers registered beyond the core set.
    notes: plain-words remarks for users (absent modalities, baseline fall-backs...).
    timings: seconds per part. settings: ``ExplainSettings.to_dict()``; seed: its seed.
    """

    clip_id: str
    content_hash: str
    checkpoint_hash: str
    backbone: str
    prediction: float
    present: tuple[str, ...]
    shapley: ModalityShapley | None
    integrated_gradients: ModalityIG | None
    time_attributions: TimeAttributions | None
    word_attributions: WordAttributions | None
    verdict: Verdict | None
    counterfactuals: Counterfactuals | None
    attention: object | None
    attention_vs_attribution: dict
    token_diagnostics: object | None
    map_xy: tuple[float, float] | None
    map_space: str | None
    extra: dict
    notes: tuple[str, ...]
    timings: dict
    settings: dict
    seed: int
    created: str
    mmviz_version: str
