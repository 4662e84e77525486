"""TD-PSOLA intonation reshaping (mmviz.demo.intonation) and the hibari valence rendering.

The synthetic voice is a harmonic source with a sinusoidal pitch contour (±3 semitones around
150 Hz) through three fixed formant resonators, with a burst of noise (an unvoiced consonant)
in the middle: its pitch range, level and formants are known by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.demo.intonation import reshape_pitch

SR = 16000


@pytest.fixture(scope="module")
def vowel() -> np.ndarray:
    """1.6 s: 0.7 s voiced, 0.2 s noise, 0.7 s voiced; formants at 600, 1400, 2600 Hz."""
    from scipy.signal import lfilter

    t = np.arange(int(0.7 * SR)) / SR
    f0 = 150.0 * 2 ** (3.0 * np.sin(2 * np.pi * 1.5 * t) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    source = sum(np.sin(k * phase) / k for k in range(1, 40))
    for fc, bw in ((600, 90), (1400, 120), (2600, 160)):
        r = np.exp(-np.pi * bw / SR)
        source = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / SR), r * r], source)
    voiced = source / np.abs(source).max() * 0.5
    noise = np.random.default_rng(0).normal(0, 0.05, int(0.2 * SR))
    return np.concatenate([voiced, noise, voiced[::-1]]).astype(np.float32)


def _pitch(y: np.ndarray, sr: int) -> np.ndarray:
    """pYIN f0 (Hz) of the voiced, non-silent 10 ms frames."""
    import librosa

    f0, v, _ = librosa.pyin(y.astype(np.float64), fmin=60, fmax=500, sr=sr, frame_length=1024, hop_length=sr // 100)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=sr // 100)[0][: len(f0)]
    return f0[v & np.isfinite(f0) & (rms > 0.01 * rms.max())]


def _st_std(y: np.ndarray, sr: int) -> float:
    f = _pitch(y, sr)
    return float(np.std(12 * np.log2(f / np.median(f))))


def _envelope(y: np.ndarray, sr: int) -> np.ndarray:
    """Mean MFCC 2..13 over the loud frames: the spectral envelope (formants), not the pitch."""
    import librosa

    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13, n_fft=1024, hop_length=160)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=160)[0]
    return m[1:, rms > 0.1 * rms.max()].mean(axis=1)


def test_range_factor_scales_the_semitone_spread(vowel):
    wide = _st_std(reshape_pitch(vowel, SR, range_factor=1.6), SR)
    flat = _st_std(reshape_pitch(vowel, SR, range_factor=0.5), SR)
    orig = _st_std(vowel, SR)
    assert wide / flat > 2.4, (wide, flat)  # 3.2 ideally
    assert 1.3 < wide / orig < 1.9 and 0.3 < flat / orig < 0.7, (orig, wide, flat)


def test_shift_moves_the_median_pitch_and_keeps_the_length(vowel):
    out = reshape_pitch(vowel, SR, shift_st=3.0)
    assert len(out) == len(vowel)
    moved = 12 * np.log2(np.median(_pitch(out, SR)) / np.median(_pitch(vowel, SR)))
    assert moved == pytest.approx(3.0, abs=0.7)
    noise = slice(int(0.75 * SR), int(0.85 * SR))  # the unvoiced burst passes through
    assert np.corrcoef(out[noise], vowel[noise])[0, 1] > 0.98


def test_identity_settings_return_the_input(vowel):
    out = reshape_pitch(vowel, SR)
    assert len(out) == len(vowel)
    assert np.corrcoef(out, vowel)[0, 1] > 0.999


def test_formants_stay_where_resampling_moves_them(vowel):
    import librosa

    base = _envelope(vowel, SR)
    psola = np.linalg.norm(_envelope(reshape_pitch(vowel, SR, shift_st=4.0), SR) - base)
    resampled = np.linalg.norm(_envelope(librosa.effects.pitch_shift(vowel, sr=SR, n_steps=4.0), SR) - base)
    assert psola < 0.5 * resampled, (psola, resampled)


def test_silence_and_short_input_pass_through():
    assert not reshape_pitch(np.zeros(SR, np.float32), SR, range_factor=1.5).any()
    short = np.random.default_rng(1).normal(0, 0.1, 100).astype(np.float32)
    np.testing.assert_array_equal(reshape_pitch(short, SR, shift_st=2.0), short)


def test_a_clip_shorter_than_one_pitch_frame_keeps_its_length(vowel):
    clip = vowel[: int(0.06 * SR)]  # 960 samples, under pYIN's 1024-sample frame
    assert len(reshape_pitch(clip, SR, range_factor=1.5, shift_st=2.0)) == len(clip)


def test_hibari_valence_widens_the_intonation_and_quickens_the_pace():
    pytest.importorskip("hibari")
    from mmviz.demo.factors import HELDOUT_VOICES
    from mmviz.demo.voice import speak_with_valence
    from mmviz.features.audio import audio_features

    voice = next(v for v in HELDOUT_VOICES if v.engine == "hibari")
    text = "I really did not expect the results to turn out this way, honestly."
    up, down = (speak_with_valence(text, v, voice=voice) for v in (3.0, -3.0))
    assert _st_std(up.audio, up.sample_rate) > 2.0 * _st_std(down.audio, down.sample_rate)
    assert len(up.audio) / up.sample_rate < 0.85 * len(down.audio) / down.sample_rate

    def rel_pitch_std(spoken) -> float:
        f = audio_features(spoken.audio, spoken.sample_rate)
        p = f.values[:, f.names.index("pitch_rel_st")]
        return float(np.std(p[np.isfinite(p)]))

    assert rel_pitch_std(up) > 1.8 * rel_pitch_std(down)
