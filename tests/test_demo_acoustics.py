"""Recording conditions of generated clips: a room and a noise floor at the drawn level.

Why these tests: real clips are recorded in rooms with background noise, and the held-out
figures only measure unseen conditions if no training clip ever had them. The SNR and the
reverberation time must be what the metadata says, or the robustness figures mean nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.demo.acoustics import (
    HELDOUT_NOISES,
    TRAIN_NOISES,
    Acoustics,
    apply_acoustics,
    draw_acoustics,
    room_response,
)

SR = 16000


def _utterance() -> np.ndarray:
    """1 s of silence, 2 s of a syllable-pulsed harmonic tone, 1 s of silence."""
    t = np.arange(2 * SR) / SR
    y = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 5)) * (0.3 + 0.7 * np.sin(2 * np.pi * 4 * t) ** 2)
    pad = np.zeros(SR)
    return (0.3 * np.concatenate([pad, y, pad])).astype(np.float32)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "hum"])
def test_noise_is_mixed_at_the_drawn_signal_to_noise_ratio(kind):
    y = _utterance()
    out = apply_acoustics(y, SR, Acoustics(kind, 15.0, 0.0), seed=3)
    assert out.shape == y.shape and out.dtype == np.float32
    noise = out.astype(np.float64) - y
    speech = np.abs(y) > 1e-3 * np.abs(y).max()
    snr = 10 * np.log10(np.mean(y[speech].astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert snr == pytest.approx(15.0, abs=0.5)
    assert np.abs(out[: SR // 2]).max() > 0  # the noise floor covers the silences too


def test_a_room_keeps_the_length_and_rings_on_for_about_its_reverberation_time():
    rng = np.random.default_rng(0)
    h = room_response(0.5, SR, rng)
    energy = np.cumsum((h ** 2)[::-1])[::-1]  # Schroeder backward integration
    decay_db = 10 * np.log10(energy / energy[0])
    t60 = np.argmax(decay_db < -30) / SR * 2  # T30 extrapolated to 60 dB
    assert t60 == pytest.approx(0.5, rel=0.35)
    y = _utterance()
    out = apply_acoustics(y, SR, Acoustics("none", float("inf"), 0.5), seed=1)
    assert out.shape == y.shape and np.abs(out).max() <= 0.95 + 1e-6
    end = 3 * SR  # the tone stops here; the room keeps ringing for a while
    assert np.abs(out[end + SR // 20: end + SR // 10]).max() > 0.01 > np.abs(y[end + SR // 20: end + SR // 10]).max()


def test_clean_dry_conditions_leave_the_audio_alone():
    y = _utterance()
    np.testing.assert_allclose(apply_acoustics(y, SR, Acoustics(), seed=0), y)


def test_held_out_conditions_never_occur_in_training_draws_and_draws_are_stable():
    train = [draw_acoustics("train", s) for s in range(400)]
    held = [draw_acoustics("heldout", s) for s in range(200)]
    assert {a.noise for a in train} == set(TRAIN_NOISES) and {a.noise for a in held} == set(HELDOUT_NOISES)
    assert max(a.rt60_s for a in train) <= 0.5 and min(a.rt60_s for a in held) >= 0.3
    assert 0.2 < np.mean([a.noise == "none" for a in train]) < 0.4  # some clips stay clean
    assert draw_acoustics("train", 17) == draw_acoustics("train", 17)
    assert Acoustics("pink", 12.345, 0.25).meta() == {"noise": "pink", "snr_db": 12.3, "rt60_s": 0.25}
