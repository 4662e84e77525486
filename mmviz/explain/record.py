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
WORD_METHODS = ("shapley", "integrated_gradients")
WORD_BASELINES = ("drop", "pad")


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
    ig_steps: integration steps of the per-modality integrated gradients (the audio/visual
        pass and the text pass from pad tokens; each text step is a full LM pass).
    word_method: how words are attributed — "shapley" (default: Shapley values over the
        transcript's words, exact by enumeration for short transcripts, antithetic
        permutation sampling otherwise; they add up to f(all words) - f(no words)) or
        "integrated_gradients" (LayerIntegratedGradients on the LM's input embeddings, pad
        baseline; adds up only as well as its completeness gap says).
    word_steps: integration steps of the word attribution when word_method is
        "integrated_gradients" (each step is a full LM pass forward and backward).
    word_estimator: how word Shapley values are estimated when the transcript is too long to
        enumerate — "auto" (default): exact up to 6 words, sampled orders while at least 6 fit
        in 64 LM passes (up to 11 words), "ends" beyond (see ``word_shapley.chosen_estimator``).
        "ends": each word's contribution added to no words and added
        last (leave-one-word-out), averaged; exact when words interact at most in pairs, the
        remainder of larger interactions shared out equally so the scores still add up; 2W + 2
        LM passes, no randomness. Against exact values on real MOSI sentences it found the top
        word 88 % of the time with 44 passes, sampling 6 orders 62 % with 122 passes
        (``bench/word_estimators.py``). "permutations": ``word_samples`` random orders.
    word_samples: permutations (an even number: antithetic pairs) when word_estimator is
        "permutations"; each costs one LM pass per word.
    word_exact_max: most words for which every coalition is enumerated (exact Shapley). A
        transcript is enumerated when it has at most this many words and its 2^W coalitions
        cost no more LM passes than max(64, the permutations' passes); otherwise sampled.
    word_baseline: what a removed word becomes — "drop" (its tokens are taken out of the
        transcript, so no words at all is the empty transcript, as in ``ablate``; default) or
        "pad" (its tokens are replaced by the pad token, positions kept). Integrated gradients
        cannot drop tokens and uses "pad" (its record says so).
    text_ig: also run the text integrated-gradients path (pad embeddings -> words, ``ig_steps``
        LM passes forward and backward) so the modality IG record has a text total. Off by
        default: on the 30-layer LM that path at 16 steps misses its own completeness by several
        times the prediction (3.9 on the benchmark clip), so its total is not evidence, and it
        cost 5.4 s of the 10 s clip's explanation. The word scores are Shapley values either way;
        with ``word_method="integrated_gradients"`` the text path runs regardless.
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
    word_method: str = "shapley"
    word_steps: int = 128
    word_estimator: str = "auto"
    word_samples: int = 6
    word_exact_max: int = 10
    word_baseline: str = "drop"
    text_ig: bool = False
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
    """Each transcript word's contribution to the fused score (audio and video as they are).

    method: "shapley" — Shapley values with the words as players: a coalition's value is the
        fused prediction with the other words removed (``baseline``), so ``sum(scores) ==
        prediction - baseline_prediction`` exactly (``estimator`` "exact": every coalition
        enumerated) or exactly too for "permutations" (each sampled permutation's marginal
        contributions telescope), with each word's sampling error in ``standard_error``.
        "integrated_gradients" — LayerIntegratedGradients on the LM's input embeddings from
        pad tokens; ``estimator`` holds Captum's integration rule and ``delta`` its
        completeness gap. (Records written before the choice existed hold the rule in
        ``method``; :attr:`method_name` reads both.)
    words: (W,) transcript words; word_times: float64 (W, 2) start/end seconds.
    scores: float64 (W,) signed contribution of each word.
    tokens: (L,) the LM tokens as strings; token_scores: float64 (L,) each token's
        attribution for integrated gradients (summed over the embedding width); NaN for
        Shapley, whose players are whole words; token_word: int64 (L,) word index of each
        token (-1: belongs to no word).
    truncated: words beyond the model's max_text_tokens (not read, score 0).
    delta: completeness gap ``sum(scores) - (prediction - baseline_prediction)`` (0 up to
        float rounding for Shapley).
    prediction / baseline_prediction: f(all words) and f(the baseline: no words, or every
        token replaced by the pad token).
    steps: integration steps (integrated gradients; 0 for Shapley). samples: permutations
        (sampled Shapley; 0 when exact or for integrated gradients). coalitions: distinct
        word subsets evaluated (one LM pass each).
    baseline: "drop" (removed words' tokens are taken out; no words = the empty transcript)
        or "pad" (replaced by the pad token). completeness: |delta| / |prediction -
        baseline_prediction| (0 when that difference is 0).
    standard_error: float64 (W,) sampling standard error of each score (zeros when exact or
        "ends"; empty for integrated gradients and old records).
    remainder: estimator "ends" only: ``f(all) - f(none) - sum`` of the first-and-last
        estimates before it was shared out equally — what interactions of three or more words
        add (0 when the words interact at most in pairs).
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
    estimator: str = ""
    baseline: str = "pad"
    completeness: float = float("nan")
    samples: int = 0
    coalitions: int = 0
    standard_error: np.ndarray = field(default_factory=lambda: np.zeros(0))
    remainder: float = 0.0

    def __iter__(self):
        """Iterating the record yields (word, score) pairs."""
        return iter(zip(self.words, self.scores.tolist()))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def method_name(self) -> str:
        """"shapley" or "integrated_gradients" (old records stored Captum's rule in ``method``)."""
        return self.method if self.method in WORD_METHODS else "integrated_gradients"

    def describe(self) -> str:
        """One plain sentence: how these scores were computed and how well they add up."""
        n = len(self.words)
        if self.method_name == "shapley":
            how = (f"exact Shapley values (all {2 ** n} subsets of the {n} words)" if self.estimator == "exact"
                   else "Shapley values estimated from each word added first and added last (exact when words "
                        f"interact at most in pairs; larger interactions, {self.remainder:+.3f} in all, shared equally)"
                   if self.estimator == "ends"
                   else f"Shapley values sampled from {self.samples} word orders (antithetic pairs)")
            gone = "taken out of the transcript" if self.baseline == "drop" else "replaced by the pad token"
            err = (f"; the largest sampling error is ±{float(np.max(self.standard_error)):.3f}"
                   if self.standard_error.size and float(np.max(self.standard_error)) > 0 else "")
            return (f"{how}, a removed word's tokens {gone}: the scores add up to "
                    f"{self.prediction - self.baseline_prediction:+.3f} = f(all words) {self.prediction:+.3f} − "
                    f"f(no words) {self.baseline_prediction:+.3f}{err}.")
        gap = self.completeness if np.isfinite(self.completeness) else (
            abs(self.delta) / abs(self.prediction - self.baseline_prediction)
            if abs(self.prediction - self.baseline_prediction) > 1e-12 else 0.0)
        return (f"integrated gradients on the LM's input embeddings from pad tokens, {self.steps} steps: the scores "
                f"miss f(x) − f(pad text) = {self.prediction - self.baseline_prediction:+.3f} by {abs(self.delta):.3f} "
                f"({gap:.0%} completeness gap).")


@register_record
@dataclass(frozen=True)
class Verdict:
    """How the modalities combined, in one word and one sentence (rule in ``mmviz.explain.verdict``).

    kind: "dominant" | "complementary" | "conflicting". dominant: the modality with the largest
    |Shapley value|. text: plain words for users. shares: {modality: |phi| / sum |phi|}.
    summary: one plain line for people who do not read Shapley values ("" in old records).
    interaction: "synergy" | "redundancy" | "cancellation" | "joint" | "" (too small to mention),
        from the interaction's sign relative to the summed single-modality effects.
    notes: where Shapley and integrated gradients disagree in sign on a modality, and why.
    """

    kind: str
    dominant: str
    text: str
    shares: dict
    rule: str
    settings: ExplainSettings
    seed: int
    summary: str = ""
    interaction: str = ""
    notes: tuple[str, ...] = ()


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
