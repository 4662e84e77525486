"""The shipped model on a voice it never heard: the neural `hibari-tts` voice (training used espeak-ng only).

Real model, real speech synthesis, real decoding; slow. The sentence is clearly negative and the voice
reads it in a neutral style, so: the voice must not read as strongly positive (the first default model
said audio +2.59, fused +2.80), the words must decide, and the voice must lie farther from the training
data than a training-generator voice does.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

SENTENCE = "Honestly, the movie was terrible and I hated every minute of it."


@pytest.fixture(scope="module")
def inspected(tmp_path_factory, repo_root):
    hibari = pytest.importorskip("hibari", reason="hibari-tts (the unseen test voice) is not installed")
    from mmviz.features.extract import extract_features
    from mmviz.inference.runner import ModelRunner

    wav = tmp_path_factory.mktemp("voice") / "unseen.wav"
    hibari.write_wav(str(wav), hibari.Hibari()(SENTENCE))
    clips = repo_root / "mmviz" / "demo" / "clips"
    runner = ModelRunner.from_checkpoint()  # the shipped default model
    assert runner.model.cfg.branch_distance, "the shipped default model has no branch-distance statistics"
    training_voice = extract_features(clips / "demo020.mp4", sidecar=clips / "demo020.txt")  # espeak-ng
    unseen = extract_features(wav, transcript=SENTENCE)
    return runner.inspect([training_voice, unseen])


def test_the_unseen_voice_lies_farther_from_the_training_data_than_a_training_voice(inspected):
    known, unseen = inspected
    assert unseen.distance["audio"] > 2 * known.distance["audio"]
    assert known.distance["audio"] < 1.0


def test_a_natural_voice_does_not_read_as_strongly_positive(inspected):
    _, unseen = inspected
    assert unseen.unshrunk["audio"] < 1.0  # the head itself, before any distance shrinkage
    assert abs(unseen.predictions.audio) < 1.0


def test_the_words_decide_a_clip_whose_voice_is_neutral(inspected):
    _, unseen = inspected
    assert unseen.predictions.text < -1.0
    assert unseen.predictions.fused < -1.0  # "terrible ... hated every minute of it"
