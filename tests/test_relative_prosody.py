"""Speaker-relative prosody: a constant pitch shift or a gain does not move the relative descriptors.

Why it matters (issue 11): every real voice read "strongly positive" because absolute pitch and
loudness carried the valence in the generator; a model that reads only relative prosody
cannot be moved by who speaks or how loud the recording was levelled.
"""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import SR
from mmviz.features.audio import RELATIVE_AUDIO_FEATURE_NAMES, audio_features, relative_prosody


def _syllables(f0_scale: float = 1.0, gain: float = 1.0, seconds: float = 2.4) -> np.ndarray:
    """A voiced 'utterance': harmonic tone with a rising-falling pitch, 4 syllables/s, silent edges."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = f0_scale * (150.0 + 30.0 * np.sin(2 * np.pi * t / seconds))  # Hz, one rise and fall
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 6))
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2  # syllable-like loudness pulses
    y = (0.2 * env * y).astype(np.float32)
    pad = np.zeros(int(0.4 * SR), np.float32)
    return gain * np.concatenate([pad, y, pad])


def test_relative_columns_are_exactly_invariant_to_pitch_scale_and_gain():
    rng = np.random.default_rng(0)
    T = 30
    speaking = (np.arange(T) % 10 < 7).astype(np.float32)
    f0 = np.where(speaking > 0, 120 + 20 * rng.random(T), np.nan)
    rms = -30 + 6 * rng.standard_normal(T)
    rate = np.where(speaking > 0, 3 + rng.random(T), np.nan)
    centroid = 900 + 100 * rng.random(T)
    mfcc = rng.standard_normal((12, T))
    base = relative_prosody(f0, rms, rate, centroid, mfcc, speaking)
    moved = relative_prosody(f0 * 1.5, rms - 12.0, rate * 1.3, centroid * 1.2, mfcc + 4.0, speaking)
    assert len(base) == len(RELATIVE_AUDIO_FEATURE_NAMES)
    for name, a, b in zip(RELATIVE_AUDIO_FEATURE_NAMES, base, moved):
        np.testing.assert_allclose(a, b, atol=1e-9, err_msg=name)
    assert np.nanmedian(base[0]) == pytest.approx(0.0)  # pitch relative to the clip's own median


@pytest.fixture(scope="module")
def extracted():
    """The synthetic harmonic 'voice' is rightly no speech to Silero VAD, so these invariance checks
    run with the loudness rule as the speaking detector (the arithmetic under test is the same)."""
    from mmviz.features import speech_activity

    mp = pytest.MonkeyPatch()
    mp.setattr(speech_activity, "available", lambda: False)
    try:
        return {k: audio_features(_syllables(**kw), SR) for k, kw in
                {"base": {}, "quiet": {"gain": 0.25}, "higher": {"f0_scale": 2 ** (4 / 12)}}.items()}
    finally:
        mp.undo()


def test_a_gain_moves_loudness_but_not_relative_prosody(extracted):
    base, quiet = extracted["base"], extracted["quiet"]
    talk = base.column("speaking") > 0
    assert np.median(base.column("rms_db")[talk] - quiet.column("rms_db")[talk]) == pytest.approx(12.04, abs=0.3)
    for name in ("rms_rel_db", "pitch_rel_st", "rate_rel", "centroid_rel"):
        a, b = base.column(name)[talk], quiet.column(name)[talk]
        ok = np.isfinite(a) & np.isfinite(b)
        assert ok.sum() >= 5, name
        assert np.max(np.abs(a[ok] - b[ok])) < 0.5, (name, a, b)


def test_a_constant_pitch_shift_moves_pitch_but_not_relative_pitch(extracted):
    base, higher = extracted["base"], extracted["higher"]
    p0, p1 = base.column("pitch_hz"), higher.column("pitch_hz")
    ok = np.isfinite(p0) & np.isfinite(p1)
    assert ok.sum() >= 10
    assert np.median(12 * np.log2(p1[ok] / p0[ok])) == pytest.approx(4.0, abs=0.3)  # absolute pitch: +4 semitones
    r0, r1 = base.column("pitch_rel_st")[ok], higher.column("pitch_rel_st")[ok]
    assert np.median(np.abs(r0 - r1)) < 0.3
    assert np.ptp(r0) > 2.0  # the contour (one rise and fall of ~±3.5 st) is still there
    talk = (base.column("speaking") > 0) & (higher.column("speaking") > 0) & (base.column("rms_rel_db") > -10)  # not the onset step
    np.testing.assert_allclose(base.column("rms_rel_db")[talk], higher.column("rms_rel_db")[talk], atol=1.0)


def test_features_carry_the_descriptor_version_so_old_stored_features_are_not_reused(tmp_path):
    """The store keys features by extraction settings *and* descriptor version."""
    from mmviz.data.store import ResultsStore
    from mmviz.features import audio
    from mmviz.features.extract import extraction_key

    key = extraction_key()
    path = ResultsStore(tmp_path).features_path("abc", "none")
    assert key in path.name
    old = audio.AUDIO_DESCRIPTORS_VERSION
    try:
        audio.AUDIO_DESCRIPTORS_VERSION = "1"
        assert extraction_key() != key and ResultsStore(tmp_path).features_path("abc", "none") != path
    finally:
        audio.AUDIO_DESCRIPTORS_VERSION = old
