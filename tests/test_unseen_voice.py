"""The shipped model on a voice it never heard: the neural `hibari-tts` voice (not the training generator's espeak-ng).

Real model, real speech synthesis, real decoding; slow.
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
    if not runner.model.cfg.branch_distance:
        pytest.fail("the shipped default model has no branch-distance statistics (mmviz refit-heads)")
    training_voice = extract_features(clips / "demo020.mp4", sidecar=clips / "demo020.txt")  # espeak-ng, as in training
    unseen = extract_features(wav, transcript=SENTENCE)
    return runner.inspect([training_voice, unseen])


def test_the_unseen_voice_lies_farther_from_the_training_data_than_a_training_voice(inspected):
    known, unseen = inspected
    assert unseen.distance["audio"] > 1.5 > known.distance["audio"]
    assert unseen.distance["audio"] > 2 * known.distance["audio"]


def test_the_record_warns_and_the_audio_head_no_longer_sits_at_the_top_of_the_scale(inspected):
    _, unseen = inspected
    assert any("the voice (audio" in n for n in unseen.notes)
    assert unseen.unshrunk["audio"] > 2.0  # what the head alone says about a natural voice: the old failure
    assert abs(unseen.predictions.audio) < 1.0


def test_the_refitted_text_head_reads_the_words(inspected):
    _, unseen = inspected
    assert unseen.predictions.text < -1.0  # "terrible ... hated every minute of it"
