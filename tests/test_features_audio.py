"""Audio descriptors on known signals: a harmonic tone, silence, and noise."""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import SR, tone
from mmviz.features.audio import (
    ABSOLUTE_AUDIO_FEATURE_NAMES,
    AUDIO_FEATURE_NAMES,
    RELATIVE_AUDIO_FEATURE_NAMES,
    SPEAKER_RELATIVE_FEATURES,
    SPEAKER_RELATIVE_FEATURES_VAD,
    SPEECH_PROB_NAMES,
    audio_features,
    speaking_activity,
)


def test_names_are_the_documented_set():
    assert AUDIO_FEATURE_NAMES[:3] == ("pitch_hz", "voiced_prob", "rms_db")
    assert AUDIO_FEATURE_NAMES == ABSOLUTE_AUDIO_FEATURE_NAMES + RELATIVE_AUDIO_FEATURE_NAMES + SPEECH_PROB_NAMES
    assert ABSOLUTE_AUDIO_FEATURE_NAMES[-1] == "speaking"  # the first default model reads exactly these
    assert [n for n in ABSOLUTE_AUDIO_FEATURE_NAMES if n.startswith("mfcc_")] == [f"mfcc_{i}" for i in range(1, 14)]
    assert set(SPEAKER_RELATIVE_FEATURES) <= set(AUDIO_FEATURE_NAMES)
    assert not {"pitch_hz", "rms_db", "mfcc_1", "spectral_centroid_hz"} & set(SPEAKER_RELATIVE_FEATURES)
    assert SPEAKER_RELATIVE_FEATURES_VAD == (*SPEAKER_RELATIVE_FEATURES, "speech_prob")


def test_tone_between_silences_has_its_pitch_only_where_it_sounds():
    y = np.concatenate([np.zeros(SR // 2, np.float32), tone(1.0, freq=150.0), np.zeros(SR // 2, np.float32)])
    m = audio_features(y, SR, hop=0.1)
    assert m.n_steps == 20 and m.values.shape == (20, len(AUDIO_FEATURE_NAMES))
    np.testing.assert_allclose(m.times[:3], [0.05, 0.15, 0.25])
    pitch, rms = m.column("pitch_hz"), m.column("rms_db")
    assert np.all(np.isnan(pitch[:4])) and np.all(np.isnan(pitch[-4:]))
    assert np.nanmedian(pitch[6:14]) == pytest.approx(150.0, rel=0.05)
    assert rms[10] > rms[1] + 40
    # loud enough for the loudness rule, but a steady tone is not speech to the voice-activity model
    assert speaking_activity(rms, m.column("voiced_prob"))[6:14].all()
    assert not m.column("speaking").any() and m.column("speech_prob").max() < 0.5


def test_noise_is_brighter_and_crosses_zero_more_than_a_low_tone():
    rng = np.random.default_rng(0)
    noise = audio_features((rng.standard_normal(SR) * 0.1).astype(np.float32), SR)
    low = audio_features(tone(1.0, freq=120.0), SR)
    assert np.mean(noise.column("spectral_centroid_hz")) > 2 * np.mean(low.column("spectral_centroid_hz"))
    assert np.mean(noise.column("zero_crossing_rate")) > 3 * np.mean(low.column("zero_crossing_rate"))
    assert np.mean(noise.column("spectral_rolloff_hz")) > np.mean(low.column("spectral_rolloff_hz"))


def test_start_offset_moves_the_time_axis():
    m = audio_features(tone(0.5), SR, start=2.0)
    assert m.times[0] == pytest.approx(2.05)


def test_speaking_activity_bridges_short_gaps_but_not_long_ones():
    loud, quiet = -10.0, -90.0
    rms = np.array([quiet] * 3 + [loud] * 2 + [quiet] * 2 + [loud] + [quiet] * 6 + [loud] * 2)
    act = speaking_activity(rms, np.zeros_like(rms))
    assert act.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]
