"""The sentence spoken by espeak-ng with a planted vocal valence.

Why prosody: the audio path of the model reads pitch, loudness and timing descriptors, not
words, so the vocal valence must live in *how* the sentence is said. With ``u = v / 3``
(``v`` the vocal valence on [-3, 3]) the voice is set by :func:`prosody_for_valence`:

==============  ===========================  ===================  ===============
setting         espeak-ng control             v = -3 (sad, flat)   v = +3 (excited)
==============  ===========================  ===================  ===============
pitch level     ``-p`` (0..99)                25                   75
pitch range     SSML ``<prosody range>``      10                   90
rate            ``-s`` words per minute       125                  215
loudness        ``-a`` (0..200)               50                   100
==============  ===========================  ===================  ===============

Each setting is linear in ``v``; ``v = 0`` is close to espeak-ng's default voice (pitch 50,
range 50, 170 wpm) spoken a little softer (amplitude 75): espeak-ng already peaks near full
scale at its default amplitude 100, so louder settings would clip.
The near-human held-out voice (hibari, :func:`_speak_hibari`) gets the same contrasts as a
speaker-relative listener hears them: its own intonation range is multiplied by
``pitch_range / 50`` clipped to 0.35..1.8 (0.35 flat at v = -3, 1.8 lively at v = +3), its
pace by ``speed / 170`` (0.74..1.26, espeak's relative span), its pitch level moves by
``2.5 u`` semitones, and its peak level is ``amplitude / 100``. Range and level are one
formant-preserving TD-PSOLA pass (:mod:`mmviz.demo.intonation`), so the timbre stays the
voice's own; a plain pitch shift or gain alone would be invisible to speaker-relative features.

When the decisive cue sits in a time span, the sentence is spoken in three chunks (neutral,
valenced, neutral) and the span is the measured start and end of the middle chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mmviz.demo.factors import VoiceProfile

GAP_S = 0.08  # pause between spoken chunks


@dataclass(frozen=True)
class Prosody:
    """espeak-ng settings for one vocal valence (see the module table)."""

    pitch: int
    pitch_range: int
    speed: int
    amplitude: int


@dataclass(frozen=True)
class Spoken:
    """Synthesised speech: mono float32 ``audio`` at ``sample_rate`` Hz, and the decisive span.

    span: (start, end) seconds of the valenced chunk within ``audio``, or None when the whole
    sentence carries the valence.
    """

    audio: np.ndarray
    sample_rate: int
    span: tuple[float, float] | None


def require_espeak() -> None:
    """Raise a clear error (with install instructions) when espeak-ng is not on PATH.

    Called before any work starts, so a corpus run fails at once instead of after the
    progress bar appears.
    """
    from mmviz.media.speech import INSTALL_HINT, SpeechSynthMissing, espeak_available

    if not espeak_available():
        raise SpeechSynthMissing("The demo corpus needs the espeak-ng speech synthesiser, which is not installed.", hint=INSTALL_HINT)


def prosody_for_valence(valence: float) -> Prosody:
    """The espeak-ng settings that express ``valence`` on [-3, 3] (linear, see module doc)."""
    u = float(np.clip(valence, -3.0, 3.0)) / 3.0
    return Prosody(
        pitch=int(round(50 + 25 * u)),
        pitch_range=int(round(50 + 40 * u)),
        speed=int(round(170 + 45 * u)),
        amplitude=int(round(75 + 25 * u)),
    )


def _speak(text: str, prosody: Prosody, voice: VoiceProfile | None = None) -> tuple[np.ndarray, int]:
    """One espeak-ng call (pitch range goes in as SSML ``<prosody range>``), or one hibari call.

    voice: a speaker of the varied generator (:mod:`mmviz.demo.factors`); None = espeak-ng's
    default English voice (the original generator).
    """
    from mmviz.media.speech import speak

    voice = voice or ORIGINAL_VOICE
    if voice.engine == "hibari":
        return _speak_hibari(text, prosody, voice)
    audio, sr = speak(
        text, voice=voice.voice, pitch=int(np.clip(prosody.pitch + voice.pitch_offset, 0, 99)),
        speed=int(round(prosody.speed * voice.speed_scale)), amplitude=prosody.amplitude, pitch_range=prosody.pitch_range,
    )
    return np.asarray(audio, dtype=np.float32) * float(voice.level), int(sr)


#: the original generator's speaker: espeak-ng's default English voice, no personal offsets
ORIGINAL_VOICE = VoiceProfile("espeak:en", "espeak", "en")


#: hibari's intonation range is its own times ``pitch_range / 50``, clipped so flat speech stays speech
HIBARI_MIN_RANGE, HIBARI_MAX_RANGE = 0.35, 1.8
#: hibari's pitch level moves by this many semitones per unit of ``u`` (espeak's 25 pitch steps)
HIBARI_SHIFT_ST = 2.5


@lru_cache(maxsize=1)
def _hibari():
    import hibari

    return hibari.Hibari()


def _speak_hibari(text: str, prosody: Prosody, voice: VoiceProfile) -> tuple[np.ndarray, int]:
    """The neural voice with the espeak valence scale, as contrasts a speaker-relative listener
    hears (see the module doc): pace from the rate, intonation range from the pitch range and a
    formant-preserving pitch level from the pitch (one TD-PSOLA pass), loudness from the amplitude."""
    import hibari

    from mmviz.demo.intonation import reshape_pitch

    u_pitch = (prosody.pitch - 50) / 25.0  # -1 .. 1, as the espeak settings
    speed = voice.speed_scale * prosody.speed / 170.0  # espeak's relative span: 0.74 .. 1.26
    audio = np.asarray(_hibari()(text, speed=float(speed), seed=0), np.float32)
    sr = int(hibari.SAMPLE_RATE)
    range_factor = float(np.clip(prosody.pitch_range / 50.0, HIBARI_MIN_RANGE, HIBARI_MAX_RANGE))
    shift = float(voice.pitch_offset + HIBARI_SHIFT_ST * u_pitch)
    if audio.size and (abs(range_factor - 1.0) > 0.01 or abs(shift) > 0.05):
        audio = reshape_pitch(audio, sr, range_factor=range_factor, shift_st=shift)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    gain = voice.level * prosody.amplitude / 100.0 / max(peak, 1e-6)
    return audio * np.float32(gain), sr


def _trim(audio: np.ndarray, sr: int, threshold: float = 1e-3) -> np.ndarray:
    """Drop leading/trailing near-silence (espeak-ng pads each utterance)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(0.02 * sr)
    return audio[max(0, loud[0] - pad) : loud[-1] + pad]


def speak_with_valence(text: str, vocal_valence: float, *, span_words: tuple[int, int] | None = None,
                       voice: VoiceProfile | None = None) -> Spoken:
    """Speak ``text`` with the prosody of ``vocal_valence`` (in ``voice``; None = the original voice).

    span_words: (i, j) speaks words[i:j] with the valence and the rest neutrally; the returned
        span gives where those words fall in the audio. None: the whole sentence is valenced.
    """
    if voice is None or voice.engine == "espeak":
        require_espeak()
    if span_words is None:
        audio, sr = _speak(text, prosody_for_valence(vocal_valence), voice)
        return Spoken(_trim(audio, sr), sr, None)
    words = text.split()
    i, j = span_words
    if not 0 <= i < j <= len(words):
        raise ValueError(f"span_words {span_words} outside a {len(words)}-word sentence")
    pieces: list[np.ndarray] = []
    span = (0.0, 0.0)
    sr = 22050
    pos = 0
    for k, (a, b) in enumerate(((0, i), (i, j), (j, len(words)))):
        if a == b:
            continue
        chunk, sr = _speak(" ".join(words[a:b]), prosody_for_valence(vocal_valence if k == 1 else 0.0), voice)
        chunk = _trim(chunk, sr)
        if pieces:
            pieces.append(np.zeros(int(GAP_S * sr), np.float32))
            pos += int(GAP_S * sr)
        if k == 1:
            span = (pos / sr, (pos + len(chunk)) / sr)
        pieces.append(chunk)
        pos += len(chunk)
    return Spoken(np.concatenate(pieces), sr, span)
