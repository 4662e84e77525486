"""Room and background noise for a generated clip: the recording conditions real clips have.

Why: every earlier generated clip was a dry synthesiser signal over digital silence. Real
recordings have a room (reverberation smears pitch and loudness contours) and a noise floor
(fans, hum, traffic). A model trained only on clean audio learns descriptors that hold only
there — above all the ``speaking`` mask, which decided "speech" from loudness and, under
steady noise, called the whole recording speech, so every speaker-relative descriptor was
measured against noise (``bench/affect_extractors.py``: 0.63 accuracy, 1.00 false speech at
10 dB SNR). Training clips now carry drawn conditions, and the held-out factor set uses noise
kinds and rooms no training clip has, so the held-out figures also measure unseen recording
conditions.

Conditions (drawn per clip from its own seed stream; ``factor_set`` picks the pool):

==============  ======================================  ==================================
                training                                held-out
==============  ======================================  ==================================
noise           none (30 %), white, pink                brown (rumble), mains hum + pink
SNR             10–35 dB                                5–25 dB
room (RT60)     dry (40 %) or 0.1–0.5 s                 0.3–0.8 s
==============  ======================================  ==================================

The room is a synthetic impulse response (direct path plus exponentially decaying noise with
the drawn RT60), the standard cheap stand-in for a measured one; noise is scaled to the SNR
against the speech's own power (over its non-silent part), then the mix is peak-limited.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRAIN_NOISES: tuple[str, ...] = ("none", "white", "pink")
HELDOUT_NOISES: tuple[str, ...] = ("brown", "hum")
NOISE_KINDS: tuple[str, ...] = TRAIN_NOISES + HELDOUT_NOISES
PEAK = 0.95


@dataclass(frozen=True)
class Acoustics:
    """One clip's recording conditions. noise "none" ignores ``snr_db``; ``rt60_s`` 0 is a dry room."""

    noise: str = "none"
    snr_db: float = float("inf")
    rt60_s: float = 0.0

    def meta(self) -> dict:
        """The metadata columns recorded for the clip."""
        return {"noise": self.noise, "snr_db": round(self.snr_db, 1) if self.noise != "none" else None,
                "rt60_s": round(self.rt60_s, 3)}


def draw_acoustics(factor_set: str, seed: int) -> Acoustics:
    """The conditions of one clip of ``factor_set`` ("train" or "heldout"), from its own seed stream."""
    rng = np.random.default_rng([int(seed), 4242])
    if factor_set == "heldout":
        noise = HELDOUT_NOISES[int(rng.integers(len(HELDOUT_NOISES)))]
        return Acoustics(noise, float(rng.uniform(5.0, 25.0)), float(rng.uniform(0.3, 0.8)))
    noise = "none" if rng.random() < 0.3 else TRAIN_NOISES[1 + int(rng.integers(len(TRAIN_NOISES) - 1))]
    snr = float(rng.uniform(10.0, 35.0))
    rt60 = 0.0 if rng.random() < 0.4 else float(rng.uniform(0.1, 0.5))
    return Acoustics(noise, snr if noise != "none" else float("inf"), rt60)


def _coloured(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of ``kind``: white, pink (1/f power), brown (1/f²) or mains hum (+ a little pink)."""
    if kind == "hum":
        t = np.arange(n) / sr
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h for h in (1, 2, 3, 5))
        x = x / np.sqrt(np.mean(x ** 2)) + 0.3 * _coloured("pink", n, sr, rng)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1.0 / sr), 20.0)
        spec *= {"white": 1.0, "pink": f ** -0.5, "brown": f ** -1.0}[kind]
        x = np.fft.irfft(spec, n)
    return (x / max(float(np.sqrt(np.mean(x ** 2))), 1e-12)).astype(np.float64)


def room_response(rt60_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic impulse response: a unit direct path, then decaying noise (−60 dB after ``rt60_s``)."""
    n = max(1, int(round(1.2 * rt60_s * sr)))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)
    tail[: int(0.003 * sr)] = 0.0  # first reflections arrive a few ms after the direct sound
    h = 0.4 * tail / max(float(np.sqrt(np.sum(tail ** 2))), 1e-12)
    h[0] = 1.0
    return h


def apply_acoustics(audio: np.ndarray, sr: int, acoustics: Acoustics, seed: int) -> np.ndarray:
    """``audio`` (mono) played in the drawn room with the drawn noise; same length, float32.

    Noise covers the whole clip (silences included, as a real noise floor does); its level is
    set against the power of the reverberant speech where the speech is not silent.
    """
    y = np.asarray(audio, np.float64).reshape(-1)
    if y.size == 0 or not np.any(y):
        return y.astype(np.float32)
    rng = np.random.default_rng([int(seed), 4243])
    peak_in = float(np.max(np.abs(y)))
    if acoustics.rt60_s > 0:
        from scipy.signal import fftconvolve

        y = fftconvolve(y, room_response(acoustics.rt60_s, sr, rng))[: len(y)]
        y *= peak_in / max(float(np.max(np.abs(y))), 1e-12)
    if acoustics.noise != "none":
        active = np.abs(y) > 1e-3 * peak_in
        p_speech = float(np.mean(y[active] ** 2)) if active.any() else float(np.mean(y ** 2))
        noise = _coloured(acoustics.noise, len(y), sr, rng)
        y = y + noise * np.sqrt(p_speech / 10 ** (acoustics.snr_db / 10))
    peak = float(np.max(np.abs(y)))
    if peak > PEAK:
        y *= PEAK / peak
    return y.astype(np.float32)
