"""The varied generator: many speakers, faces, frames and phrases, and a held-out part of each.

Why these tests: a test set only says something about unseen speakers and faces if no training
clip ever used them, and no test sentence was trained on. These pin that down.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.demo import factors as F
from mmviz.demo.acoustics import HELDOUT_NOISES, TRAIN_NOISES


def test_every_factor_pool_is_cut_into_disjoint_training_and_held_out_parts():
    tr, ho = F.pools("train"), F.pools("heldout")
    voices_tr, voices_ho = {v.name for v in tr[0]}, {v.name for v in ho[0]}
    assert voices_tr.isdisjoint(voices_ho) and len(voices_tr) >= 8 and "hibari:heart" in voices_ho
    assert set(tr[1]).isdisjoint(ho[1]) and len(tr[1]) > 50 and len(ho[1]) > 20
    assert set(tr[2]).isdisjoint(ho[2]) and len(ho[2]) == 3
    assert set(tr[3]).isdisjoint(ho[3]) and len(ho[3]) >= 8
    assert set(tr[4]).isdisjoint(ho[4])
    # held-out phrases span the scale (every fourth by valence), not one end of it
    assert min(ho[3].values()) < -1.5 and max(ho[3].values()) > 1.5


def test_real_sentences_are_held_out_by_a_stable_hash_of_their_id():
    parts = [F.text_part(f"mosi:{i}") for i in range(2000)]
    assert parts == [F.text_part(f"mosi:{i}") for i in range(2000)]
    assert 0.15 < parts.count("heldout") / len(parts) < 0.25


def test_one_transcript_always_lands_in_one_split_whatever_its_spacing_or_case():
    assert F.transcript_split("The movie was  GOOD") == F.transcript_split("the movie was good")
    splits = [F.transcript_split(f"sentence number {i}") for i in range(1000)]
    assert {"train", "valid", "test"} == set(splits)


def test_a_varied_sentence_uses_only_its_pools_and_keeps_the_exact_phrase_valence():
    from mmviz.demo.text import varied_sentence

    _, _, frames, phrases, neutral = F.pools("heldout")
    rng = np.random.default_rng(0)
    for target in (-2.9, -1.0, 0.0, 1.2, 2.8):
        s = varied_sentence(target, rng, frames, phrases, neutral)
        used = [p for p in phrases if p in s.text]
        if target == 0.0:
            assert s.valence == 0.0 and any(p in s.text for p in neutral)
        else:
            assert used and s.valence == phrases[max(used, key=len)]
        assert any(f.split("{s}")[0].strip() in s.text for f in frames)


@pytest.mark.parametrize("face", ["astronaut-mirror", "lfw-03", "lfw-80"])
def test_every_kind_of_face_is_found_by_the_face_detector(face):
    from mmviz.demo.face import render_face
    from mmviz.features.visual import visual_features

    frames = render_face(1.0, 6.0, 2.0, seed=3, face=face)
    present = visual_features(frames, (np.arange(len(frames)) + 0.5) / 6.0).column("face_present")
    assert np.nanmean(present) >= 0.8


def test_a_speaker_profile_changes_the_voice_and_valence_still_raises_its_pitch():
    from mmviz.demo.voice import speak_with_valence
    from mmviz.features.audio import audio_features

    def median_pitch(voice, v):
        s = speak_with_valence("the film was about two hours long", v, voice=voice)
        return float(np.nanmedian(audio_features(s.audio, s.sample_rate).column("pitch_hz")))

    low = next(v for v in F.TRAIN_VOICES if v.pitch_offset < -10)
    high = next(v for v in F.TRAIN_VOICES if v.pitch_offset > 10)
    assert median_pitch(high, 0.0) > median_pitch(low, 0.0)
    assert median_pitch(low, 3.0) > median_pitch(low, -3.0)


def test_a_training_corpus_records_its_factors_and_splits_by_transcript(tmp_path):
    from mmviz.demo.corpus import generate_corpus

    meta = generate_corpus(tmp_path, 4, 1, factors="train", keep_media=False)
    assert set(meta["voice"]) <= {v.name for v in F.TRAIN_VOICES}
    assert set(meta["face"]) <= set(F.TRAIN_FACES)
    assert list(meta["split"]) == [F.transcript_split(t) for t in meta["transcript"]]
    assert set(meta["noise"]) <= set(TRAIN_NOISES) and (meta["rt60_s"] <= 0.5).all()  # recording conditions recorded


def test_a_held_out_corpus_uses_only_held_out_factors(tmp_path):
    pytest.importorskip("hibari", reason="hibari-tts (the held-out neural voice) is not installed")
    from mmviz.data.dataset import load_features_dir
    from mmviz.demo.corpus import generate_corpus

    meta = generate_corpus(tmp_path, 3, 2, factors="heldout", keep_media=False)
    assert set(meta["split"]) == {"heldout"}
    assert set(meta["voice"]) <= {v.name for v in F.HELDOUT_VOICES}
    assert set(meta["face"]) <= set(F.HELDOUT_FACES)
    assert set(meta["noise"]) <= set(HELDOUT_NOISES) and (meta["rt60_s"] >= 0.3).all()  # unseen rooms and noise
    assert {c.split for c in load_features_dir(tmp_path)} == {"heldout"}  # never trained on


def test_the_original_generator_is_unchanged_when_no_factor_set_is_given(tmp_path):
    from mmviz.demo.corpus import METADATA_COLUMNS, generate_corpus

    meta = generate_corpus(tmp_path, 1, 0, keep_media=False)
    assert list(meta.columns) == METADATA_COLUMNS


def test_an_unknown_factor_set_is_a_clear_error(tmp_path):
    from mmviz.demo.corpus import generate_corpus
    from mmviz.errors import MmvizError

    with pytest.raises(MmvizError, match="factor set"):
        generate_corpus(tmp_path, 1, 0, factors="everything")


def test_the_build_refuses_a_transcript_in_both_train_and_test():
    from mmviz.data.dataset import LabelledClip
    from mmviz.data.transcripts import text_features
    from mmviz.training.default_recipe import assert_disjoint_transcripts

    a = LabelledClip(text_features("a", "the film was good"), 1.0, "train", {})
    b = LabelledClip(text_features("b", "The film  was good"), 1.0, "heldout", {})
    with pytest.raises(AssertionError, match="both train and heldout"):
        assert_disjoint_transcripts([a, b])
