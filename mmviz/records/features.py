"""The ClipFeatures record: everything the model reads about one clip, on the clip's clock.

Field descriptions (kind, units, how to draw) live here in docstrings; values live in the
instances. Times are always seconds on the clip's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviz.records.serialize import register_record

TRANSCRIPT_SOURCES = ("typed", "sidecar", "asr", "none")


@register_record
@dataclass(frozen=True)
class TimedMatrix:
    """A feature matrix on a time axis.

    values: float32 (T, D). NaN means "could not be measured at this step" (e.g. no face in
        the frame) — never silently zero. The model imputes NaN with the training mean.
    names: D feature names, e.g. ("pitch_hz", "rms_db", ...). They travel with the values and
        label every axis a figure draws.
    times: float64 (T,) seconds, the centre of each step on the clip's clock.
    step: seconds between steps (the hop).
    """

    values: np.ndarray
    names: tuple[str, ...]
    times: np.ndarray
    step: float

    def __post_init__(self) -> None:
        if self.values.ndim != 2:
            raise ValueError(f"values must be (T, D), got shape {self.values.shape}")
        if self.values.shape[1] != len(self.names):
            raise ValueError(f"{self.values.shape[1]} columns but {len(self.names)} names")
        if self.times.shape != (self.values.shape[0],):
            raise ValueError(f"times shape {self.times.shape} does not match {self.values.shape[0]} steps")

    @property
    def n_steps(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> np.ndarray:
        """The values of one named feature, (T,)."""
        return self.values[:, self.names.index(name)]


@register_record
@dataclass(frozen=True)
class Word:
    """One transcript word with its span in seconds.

    estimated: True when the times were spread over voiced segments rather than measured
    (plain text without times); figures draw estimated words differently.
    """

    text: str
    start: float
    end: float
    estimated: bool = False


@register_record
@dataclass(frozen=True)
class MediaInfo:
    """What the container claimed versus what actually decoded."""

    filename: str
    container: str
    duration_claimed: float | None
    duration_decoded: float
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps_claimed: float | None = None
    frames_claimed: int | None = None
    frames_decoded: int | None = None
    sample_rate: int | None = None
    window: tuple[float, float] | None = None
    warnings: tuple[str, ...] = ()


@register_record
@dataclass(frozen=True)
class ClipFeatures:
    """Everything the model reads about one clip.

    clip_id: a display name (file name without directories).
    content_hash: sha256 hex of the clip's bytes; the cache key for every result about it.
    audio / visual: named descriptors on their own time axes; None when the stream is absent
        (an audio-only file has visual=None).
    words: transcript words with times; ``transcript_source`` says where they came from
        (one of "typed", "sidecar", "asr", "none").
    media: what decoded.
    settings: the extraction settings (hop, fps, detector…) that made these features.
    """

    clip_id: str
    content_hash: str
    audio: TimedMatrix | None
    visual: TimedMatrix | None
    words: tuple[Word, ...]
    transcript_source: str
    media: MediaInfo
    settings: dict = field(default_factory=dict)

    @property
    def transcript(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def duration(self) -> float:
        return float(self.media.duration_decoded)
