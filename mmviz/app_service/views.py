"""Typed records the dashboard reads: one analysed clip and one scored dataset.

``ClipExplanation`` is the app's flat view of an ``mmviz.explain.Explanation`` (see
``mmviz.app_service.adapt``): the numbers and curves the pages draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.records.serialize import register_record

MODALITIES = ("text", "audio", "visual")


@register_record
@dataclass(frozen=True)
class TimeAttribution:
    """Attribution of one modality over the clip: times (T,) seconds, values (T,) signed score."""

    modality: str
    times: np.ndarray
    values: np.ndarray
    kind: str = "attribution"  # or "attention" (cross-attention mass per key, unsigned)


@register_record
@dataclass(frozen=True)
class Counterfactual:
    """A changed input and the fused prediction it gave (training scale)."""

    name: str  # e.g. "drop audio", "mask 1.0–2.0 s", "shift audio +0.5 s", "swap audio"
    kind: str  # drop | mask | shift | swap
    fused: float
    delta: float  # fused - original fused


@register_record
@dataclass(frozen=True)
class ClipExplanation:
    """Why the model predicted what it did, for one clip.

    shapley: modality -> contribution to the fused score (sums with base to the full score
        minus interaction when computed by removal).
    interaction: full score - base - sum of single-modality gains (synergy / redundancy).
    ig: modality -> integrated-gradients total (None when not computed); ig_delta: completeness gap.
    verdict: "dominant" | "complementary" | "conflicting"; verdict_text: plain words for users.
    words: transcript words; word_scores: (W,) signed score of each word.
    map_xy: the clip's position on the dataset map (None when no map yet).
    """

    shapley: dict
    interaction: float
    base: float
    full: float
    verdict: str
    verdict_text: str
    dominant: str
    time: tuple[TimeAttribution, ...]
    words: tuple[str, ...]
    word_scores: np.ndarray
    counterfactuals: tuple[Counterfactual, ...] = ()
    ig: dict | None = None
    ig_delta: float | None = None
    map_xy: tuple[float, float] | None = None
    source: str = "mmviz.explain"
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClipResult:
    """Everything the clip review page shows for one clip (nothing here is a model)."""

    key: str  # content hash + transcript key: the cache key
    features: ClipFeatures
    inspection: Inspection
    explanation: ClipExplanation
    media_path: str | None
    decisive_span: tuple[float, float] | None = None
    label: float | None = None
    notes: tuple[str, ...] = ()  # pipeline warnings shown to the user


def sentiment_class(score: float, n: int = 2) -> str:
    """Class name of a score on [-3, 3]: 2 classes (negative / positive, >= 0) or 7 (rounded)."""
    if n == 2:
        return "positive" if score >= 0 else "negative"
    names = ("strongly negative", "negative", "weakly negative", "neutral", "weakly positive", "positive", "strongly positive")
    return names[int(np.clip(np.round(score), -3, 3)) + 3]
