"""Offline ASR (pocketsphinx) gives words with measured times on generated speech."""

from __future__ import annotations

import pytest

from media_fixtures import SR, face_frames, needs_espeak, speech_clip_audio

pytest.importorskip("pocketsphinx")


@pytest.mark.slow
@needs_espeak
def test_asr_words_have_times_inside_the_speech(tmp_path):
    from mmviz.features.extract import extract_features
    from mmviz.media.encode import write_clip

    path = write_clip(tmp_path / "talk.mp4", face_frames(50, size=(640, 480)), 10.0, speech_clip_audio(5.0, lead=0.5), SR)
    feats = extract_features(path, asr=True)
    assert feats.transcript_source == "asr"
    assert len(feats.words) >= 3
    assert not any(w.estimated for w in feats.words), "ASR times are measured"
    assert all(0.3 <= w.start < w.end <= 5.0 for w in feats.words)


@needs_espeak
def test_silence_gives_no_words():
    import numpy as np

    from mmviz.transcript.asr import recognise

    assert recognise(np.zeros(SR, np.float32)) == ()
