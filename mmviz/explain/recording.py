"""``RecordingAnalysis``: a recording longer than the model reads, analysed utterance by utterance.

Why: the model reads at most 60 s and 64 transcript tokens; rather than cut a long clip, the
service splits it into utterances that each fit (:mod:`mmviz.features.utterances`) and analyses
each one whole. This record keeps the recording's own features, the utterances' spans on its
clock and one :class:`ClipAnalysis` per utterance; the clip-level summary (duration-weighted
mean, per-utterance heads, which utterances were long or short) is computed from them on
demand (:attr:`RecordingAnalysis.summary`), never stored beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmviz.explain.analysis import ClipAnalysis
from mmviz.features.utterances import UtteranceLimits, UtteranceSpan
from mmviz.records.features import ClipFeatures
from mmviz.records.keys import features_key, settings_key
from mmviz.records.serialize import register_record

HEADS = ("fused", "text", "audio", "visual")


@dataclass(frozen=True)
class RecordingSummary:
    """The recording at a glance (derived from a RecordingAnalysis; not stored).

    mean: duration-weighted mean score of each head ("fused", "text", "audio", "visual") over
        the utterances, on the model's [-3, 3] scale.
    scores: per head, one score per utterance (float64 (U,)).
    starts / ends: utterance spans, seconds on the recording's clock (U,).
    long: indices of utterances cut out of speech longer than the model reads.
    short: indices of utterances shorter than the splitter's ``min_seconds``.
    """

    mean: dict[str, float]
    scores: dict[str, np.ndarray]
    starts: np.ndarray
    ends: np.ndarray
    long: tuple[int, ...]
    short: tuple[int, ...]


@register_record
@dataclass(frozen=True)
class RecordingAnalysis:
    """A whole recording through one checkpoint, one ClipAnalysis per utterance.

    features: the whole recording's features (times on its clock).
    spans: the utterances, tiling the recording (seconds on its clock), from the splitter.
    utterances: one analysis per span; its features are the span's cut, re-based to start at 0
        (``mmviz.features.utterances.utterance_offset`` maps back).
    limits: what each utterance was made to fit (the model's 60 s / 64 tokens) and the pause rules.
    media_path: the recording's media file on this machine (None: features only).
    label: the recording's human label on the [-3, 3] scale (None: unlabelled).
    """

    features: ClipFeatures
    spans: tuple[UtteranceSpan, ...]
    utterances: tuple[ClipAnalysis, ...]
    limits: UtteranceLimits
    media_path: str | None = None
    label: float | None = None

    def __post_init__(self) -> None:
        if len(self.spans) != len(self.utterances) or not self.spans:
            raise ValueError(f"{len(self.spans)} spans but {len(self.utterances)} utterance analyses")
        if len({u.inspection.checkpoint_hash for u in self.utterances}) != 1:
            raise ValueError("the utterances were analysed by different checkpoints")

    @property
    def checkpoint_hash(self) -> str:
        return self.utterances[0].inspection.checkpoint_hash

    @property
    def key(self) -> str:
        """Which recording, transcript, settings, split and checkpoint (state and cache key)."""
        return f"{features_key(self.features)}-{settings_key(self.limits)}-{self.checkpoint_hash}"

    @property
    def durations(self) -> np.ndarray:
        """Seconds of each utterance (U,)."""
        return np.array([s.duration for s in self.spans], dtype=float)

    def scores(self, head: str = "fused") -> np.ndarray:
        """One head's score per utterance (U,): "fused", "text", "audio" or "visual"."""
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; use one of {HEADS}")
        return np.array([getattr(u.inspection.predictions, head) for u in self.utterances], dtype=float)

    def mean(self, head: str = "fused") -> float:
        """Duration-weighted mean of one head's score over the utterances."""
        w = self.durations
        return float(np.average(self.scores(head), weights=w)) if w.sum() > 0 else float(self.scores(head).mean())

    @property
    def summary(self) -> RecordingSummary:
        return RecordingSummary(
            mean={h: self.mean(h) for h in HEADS}, scores={h: self.scores(h) for h in HEADS},
            starts=np.array([s.start for s in self.spans]), ends=np.array([s.end for s in self.spans]),
            long=tuple(i for i, s in enumerate(self.spans) if s.long),
            short=tuple(i for i, s in enumerate(self.spans) if s.short))

    @property
    def warnings(self) -> tuple[str, ...]:
        """The media's warnings and any note of an utterance the model still could not read whole."""
        notes = [f"Utterance {i + 1} ({s.start:.1f}–{s.end:.1f} s): {n}"
                 for i, (s, u) in enumerate(zip(self.spans, self.utterances)) for n in u.inspection.notes]
        return tuple(dict.fromkeys((*self.features.media.warnings, *notes)))

    def at(self, t: float) -> int:
        """Index of the utterance that holds second ``t`` of the recording (clamped to the ends)."""
        ends = np.array([s.end for s in self.spans])
        return int(min(np.searchsorted(ends, t, side="right"), len(self.spans) - 1))
