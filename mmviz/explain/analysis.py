"""``ClipAnalysis``: one clip as the pages and reports draw it — three records, nothing derived.

Why a bundle and not a view: the figures read the explainer's own records
(:class:`~mmviz.explain.record.Explanation`), the model's (:class:`Inspection`) and the
features (:class:`ClipFeatures`) directly, so a record saved by ``mmviz explain --out`` opens
in the dashboard and turns into a report exactly as a clip analysed in the app does.
Planted ground truth (``decisive_span`` of a demo clip) and the user's label travel beside
the model's records, named as what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmviz.explain.record import Explanation
from mmviz.inference.record import Inspection
from mmviz.records.features import ClipFeatures
from mmviz.records.keys import features_key
from mmviz.records.serialize import register_record


@register_record
@dataclass(frozen=True)
class ClipAnalysis:
    """What the model read, what it computed and why, for one clip through one checkpoint.

    features / inspection / explanation: the three records (same clip, same checkpoint).
    media_path: the media file on this machine, for the player (None: features only).
    label: the clip's human label on the [-3, 3] scale (None: unlabelled).
    decisive_span: planted ground truth of a generated demo clip, (start, end) seconds of
        the cue that decides it (None for real clips): shown as "planted", never as the model's.
    """

    features: ClipFeatures
    inspection: Inspection
    explanation: Explanation
    media_path: str | None = None
    label: float | None = None
    decisive_span: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        hashes = {self.features.content_hash, self.inspection.content_hash, self.explanation.content_hash}
        if len(hashes) != 1:
            raise ValueError("features, inspection and explanation describe different clips")

    @property
    def key(self) -> str:
        """Which clip, transcript, settings and checkpoint this analysis is of (state and cache key)."""
        return f"{features_key(self.features)}-{self.inspection.checkpoint_hash}"

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the pipeline repaired or dropped on the way (shown to the user): the media's
        warnings and the model's notes (e.g. the part of a long clip it did not read)."""
        return tuple(dict.fromkeys((*self.features.media.warnings, *self.inspection.notes)))
