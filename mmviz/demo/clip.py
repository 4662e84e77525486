"""Render one demo clip (frames, speech, transcript, metadata) from its plan.

Why separate from writing: the same rendered clip is either encoded to mp4 (the committed
demo set) or handed to feature extraction in memory (a large training corpus with no video
files), so rendering knows nothing about files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from mmviz.demo.acoustics import apply_acoustics
from mmviz.demo.face import render_face
from mmviz.demo.factors import ClipFactors
from mmviz.demo.label import demo_label
from mmviz.demo.plan import ClipPlan
from mmviz.demo.text import Sentence
from mmviz.demo.voice import speak_with_valence

MIN_DURATION = 3.0
MAX_DURATION = 8.0


@dataclass(frozen=True)
class DemoClip:
    """One rendered clip.

    frames: (N, H, W, 3) uint8 RGB at ``fps``; audio: mono float32 at ``sample_rate``, exactly
    as long as the video (N / fps seconds). meta: one metadata row (see corpus.METADATA_COLUMNS).
    """

    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    transcript: str
    meta: dict


def _audio_span_words(n_words: int, rng: np.random.Generator) -> tuple[int, int]:
    """A contiguous run of about half the words, not starting at the first word if possible."""
    length = max(1, n_words // 2)
    start = int(rng.integers(1, n_words - length + 1)) if n_words - length >= 1 else 0
    return start, start + length


def render_clip(
    plan: ClipPlan,
    choose_sentence: Callable[[float, np.random.Generator], Sentence],
    *,
    clip_id: str,
    fps: float = 15.0,
    size: tuple[int, int] = (320, 240),
    factors: ClipFactors | None = None,
) -> DemoClip:
    """Render ``plan``: pick a sentence near the text target, speak it, animate the face.

    factors: the clip's speaker and face (varied generator, :mod:`mmviz.demo.factors`); None =
    the original voice and face. Recorded in the metadata as ``voice``, ``face`` and ``factor_set``.
    """
    rng = np.random.default_rng(plan.seed)
    sentence = choose_sentence(plan.targets["text"], rng)
    vocal, facial = plan.targets["audio"], plan.targets["visual"]
    n_words = len(sentence.text.split())
    span_words = _audio_span_words(n_words, rng) if plan.span_modality == "audio" and n_words >= 2 else None
    spoken = speak_with_valence(sentence.text, vocal, span_words=span_words, voice=factors.voice if factors else None)
    sr = spoken.sample_rate

    lead = float(rng.uniform(0.3, 0.7))
    speech_s = len(spoken.audio) / sr
    want = max(MIN_DURATION, float(rng.uniform(3.5, 5.5)), lead + speech_s + 0.4)
    n_frames = int(np.ceil(min(want, MAX_DURATION) * fps))
    duration = n_frames / fps
    audio = np.zeros(int(round(duration * sr)), np.float32)
    a0 = int(round(lead * sr))
    piece = spoken.audio[: max(0, len(audio) - a0)]
    audio[a0 : a0 + len(piece)] = piece
    if factors is not None and factors.acoustics is not None:
        audio = apply_acoustics(audio, sr, factors.acoustics, plan.seed)

    face_span = None
    if plan.span_modality == "visual":
        length = float(rng.uniform(1.2, 2.0))
        t0 = float(rng.uniform(0.3, max(0.31, duration - length - 0.3)))
        face_span = (round(t0, 3), round(min(duration, t0 + length), 3))
    frames = render_face(duration, fps, facial, seed=plan.seed, span=face_span, size=size,
                         face=factors.face if factors else None)

    label = demo_label(sentence.valence, vocal, facial)
    span = None
    if label.decisive_modality == plan.span_modality == "audio" and spoken.span is not None:
        span = (round(lead + spoken.span[0], 3), round(lead + spoken.span[1], 3))
    elif label.decisive_modality == plan.span_modality == "visual":
        span = face_span
    meta = {
        "clip_id": clip_id,
        "transcript": sentence.text,
        "label": label.value,
        "text_valence": sentence.valence,
        "vocal_valence": vocal,
        "facial_valence": facial,
        "decisive_modality": label.decisive_modality,
        "decisive_span_start": span[0] if span else None,
        "decisive_span_end": span[1] if span else None,
        "conflict": label.conflict,
        "scenario": plan.kind,
        "duration": round(duration, 3),
        "seed": plan.seed,
        "text_source": sentence.source,
        "text_source_id": sentence.source_id,
    }
    if factors is not None:
        meta.update(voice=factors.voice.name, face=factors.face, factor_set=factors.factor_set)
        if factors.acoustics is not None:
            meta.update(factors.acoustics.meta())
    return DemoClip(frames, fps, audio, sr, sentence.text, meta)
