"""The generator's factors — voices, faces, sentence frames, phrases — and which are held out.

Why: a model trained and tested on one voice, one face and one sentence frame learns that
voice, that face and that frame; its test score says nothing about a new speaker. So the
varied generator draws each clip's speaker, face, frame and phrase from a *pool*, and every
pool is cut in two: a training part and a held-out part that no training clip ever uses.
A corpus is generated with ``factors="train"`` (training parts only; split train/valid/test by
transcript so no sentence is in two splits) or ``factors="heldout"`` (held-out parts only: the
honest "unseen speaker, unseen face, unseen wording" test set). ``factors=None`` is the original
single-voice, single-face generator that made the committed demo clips.

Held out (never in a training clip):

* voices: two espeak-ng dialect+variant combinations no training voice uses, and the neural
  ``hibari-tts`` voice (Kokoro-distilled American English, Apache-2.0, in its wheel) — the
  near-human voice, never used for training at all;
* faces: LFW faces 70-96 of scikit-image's ``lfw_subset`` (training uses the astronaut portrait,
  its mirror image and LFW faces 0-69), each with random tint, background and size;
* sentence frames: the last three of :data:`mmviz.demo.text.FRAMES`;
* phrases: every fourth evaluative phrase of :data:`mmviz.demo.text.EVALUATIVE` and
  ``EXTRA_EVALUATIVE`` together (sorted by valence, so held-out phrases span the scale), and every
  fourth neutral phrase;
* real human-rated text (MOSI train, VADER): 20 % of sentences by a stable hash of their id;
* recording conditions: noise kinds (brown rumble, mains hum) and reverberant rooms no training
  clip has (:mod:`mmviz.demo.acoustics`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from mmviz.demo.acoustics import Acoustics, draw_acoustics

FACTOR_SETS = ("train", "heldout")


@dataclass(frozen=True)
class VoiceProfile:
    """A synthetic speaker: engine, base voice and personal pitch, pace and level.

    engine: "espeak" (``voice`` is an espeak-ng voice name, e.g. ``en-gb+f2``) or "hibari".
    pitch_offset: added to the espeak-ng pitch (0..99 scale); for hibari, semitones.
    speed_scale: multiplies the speaking rate. level: multiplies the waveform (recording gain).
    """

    name: str
    engine: str
    voice: str
    pitch_offset: float = 0.0
    speed_scale: float = 1.0
    level: float = 1.0


#: Voices training clips are spoken in (varied dialect, sex variant, pitch, pace and gain).
TRAIN_VOICES: tuple[VoiceProfile, ...] = (
    VoiceProfile("espeak:en-us", "espeak", "en-us", 0, 1.0, 1.0),
    VoiceProfile("espeak:en-us+m3", "espeak", "en-us+m3", -10, 0.9, 0.8),
    VoiceProfile("espeak:en-gb+f2", "espeak", "en-gb+f2", 8, 1.05, 0.7),
    VoiceProfile("espeak:en-gb-x-rp+m1", "espeak", "en-gb-x-rp+m1", -5, 0.95, 0.9),
    VoiceProfile("espeak:en-029+f3", "espeak", "en-029+f3", 12, 1.1, 0.6),
    VoiceProfile("espeak:en-us+f1", "espeak", "en-us+f1", 4, 0.85, 0.85),
    VoiceProfile("espeak:en+m7", "espeak", "en+m7", -15, 1.0, 0.5),
    VoiceProfile("espeak:en-gb-scotland+m2", "espeak", "en-gb-scotland+m2", 0, 1.15, 0.75),
)
#: Voices no training clip uses; hibari is the near-human one.
HELDOUT_VOICES: tuple[VoiceProfile, ...] = (
    VoiceProfile("espeak:en-us-nyc+f4", "espeak", "en-us-nyc+f4", 6, 0.95, 0.7),
    VoiceProfile("espeak:en-gb-x-gbclan+m5", "espeak", "en-gb-x-gbclan+m5", -8, 1.08, 0.9),
    VoiceProfile("hibari:heart", "hibari", "heart", 0.0, 1.0, 0.8),
)

#: LFW faces (indices into ``skimage.data.lfw_subset()``, whose first 100 images are faces).
LFW_TRAIN = tuple(range(0, 70))
LFW_HELDOUT = tuple(range(70, 97))
TRAIN_FACES: tuple[str, ...] = ("astronaut", "astronaut-mirror", *(f"lfw-{i:02d}" for i in LFW_TRAIN))
HELDOUT_FACES: tuple[str, ...] = tuple(f"lfw-{i:02d}" for i in LFW_HELDOUT)
#: share of training clips drawn with the astronaut portrait (the committed demo clips' face)
ASTRONAUT_SHARE = 0.25
#: held-out real sentences: this share, by a stable hash of the sentence id
HELDOUT_TEXT_SHARE = 0.2


def stable_unit(key: str) -> float:
    """A stable number in [0, 1) from ``key`` (same on every machine and Python run)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 16**8


def text_part(source_id: str) -> str:
    """"heldout" or "train": which factor set may speak the real sentence ``source_id``."""
    return "heldout" if stable_unit(f"text:{source_id}") < HELDOUT_TEXT_SHARE else "train"


def normalise_transcript(transcript: str) -> str:
    """Lower case, single spaces: the form in which two transcripts count as the same sentence."""
    return " ".join(str(transcript).lower().split())


def transcript_split(transcript: str, valid: float = 0.1, test: float = 0.1) -> str:
    """train/valid/test by a stable hash of the *transcript*: one sentence never sits in two splits."""
    u = stable_unit("tx:" + normalise_transcript(transcript))
    return "test" if u < test else "valid" if u < test + valid else "train"


@dataclass(frozen=True)
class ClipFactors:
    """The factors drawn for one clip (names recorded in the corpus metadata)."""

    factor_set: str
    voice: VoiceProfile
    face: str
    frames: tuple[str, ...]
    phrases: dict[str, float]
    neutral: tuple[str, ...]
    #: room and background noise (:mod:`mmviz.demo.acoustics`); None = dry and clean
    acoustics: Acoustics | None = None


def pools(factor_set: str) -> tuple[tuple[VoiceProfile, ...], tuple[str, ...], tuple[str, ...], dict[str, float], tuple[str, ...]]:
    """(voices, faces, frames, evaluative phrases, neutral phrases) of one factor set."""
    from mmviz.demo.text import EVALUATIVE, EXTRA_EVALUATIVE, EXTRA_NEUTRAL, FRAMES, NEUTRAL_PHRASES

    if factor_set not in FACTOR_SETS:
        raise ValueError(f"factor_set must be one of {FACTOR_SETS}, got {factor_set!r}")
    held = factor_set == "heldout"
    ranked = sorted({**EVALUATIVE, **EXTRA_EVALUATIVE}.items(), key=lambda kv: (kv[1], kv[0]))
    phrases = {p: v for i, (p, v) in enumerate(ranked) if (i % 4 == 3) == held}
    neutral = tuple(p for i, p in enumerate((*NEUTRAL_PHRASES, *EXTRA_NEUTRAL)) if (i % 4 == 3) == held)
    frames = FRAMES[-3:] if held else FRAMES[:-3]
    voices = HELDOUT_VOICES if held else TRAIN_VOICES
    faces = HELDOUT_FACES if held else TRAIN_FACES
    return voices, faces, frames, phrases, neutral


def draw_factors(factor_set: str, seed: int, *, voices: tuple[VoiceProfile, ...] | None = None) -> ClipFactors:
    """The clip's speaker and face, from its own seed (a stream separate from the plan's)."""
    all_voices, faces, frames, phrases, neutral = pools(factor_set)
    voices = voices or all_voices
    rng = np.random.default_rng([int(seed), 991])
    voice = voices[int(rng.integers(len(voices)))]
    face = faces[int(rng.integers(len(faces)))]
    if factor_set == "train" and rng.random() < ASTRONAUT_SHARE:
        face = ("astronaut", "astronaut-mirror")[int(rng.integers(2))]
    return ClipFactors(factor_set, voice, face, frames, phrases, neutral, draw_acoustics(factor_set, seed))
