"""End to end on a generated clip with a real face and real speech: decode → features → words."""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import SENTENCE, SR, blank_frames, face_frames, needs_espeak, speech_clip_audio, tone, write_test_clip
from mmviz.features.audio import AUDIO_FEATURE_NAMES
from mmviz.features.extract import ExtractSettings, extract_features
from mmviz.features.visual import VISUAL_FEATURE_NAMES
from mmviz.media.decode import DecodedMedia
from mmviz.media.encode import write_clip


@pytest.fixture(scope="module")
def face_speech_clip(tmp_path_factory):
    """640×480, 5 s, 10 fps: the astronaut's face moving and growing; espeak-ng speech from 0.5 s."""
    pytest.importorskip("skimage")
    if needs_espeak.args[0]:
        pytest.skip(needs_espeak.kwargs["reason"])
    path = tmp_path_factory.mktemp("clips") / "face_speech.mp4"
    write_clip(path, face_frames(50, size=(640, 480)), 10.0, speech_clip_audio(5.0), SR)
    return path


@pytest.fixture(scope="module")
def face_speech_features(face_speech_clip):
    return extract_features(face_speech_clip, transcript=SENTENCE)


def test_face_is_found_on_at_least_90_percent_of_frames(face_speech_features):
    v = face_speech_features.visual
    assert v.names == VISUAL_FEATURE_NAMES
    assert np.mean(v.column("face_present")) >= 0.9


def test_face_position_follows_the_face_across_the_frame(face_speech_features):
    v = face_speech_features.visual
    x, size = v.column("face_x"), v.column("face_size")
    assert np.nanmean(x[:10]) < 0.35 and np.nanmean(x[-10:]) > 0.65, "face slides left → right"
    assert np.nanmean(size[-10:]) > 1.2 * np.nanmean(size[:10]), "face grows"


def test_pitch_track_lies_in_the_voiced_part(face_speech_features):
    a = face_speech_features.audio
    assert a.names == AUDIO_FEATURE_NAMES
    pitch, t = a.column("pitch_hz"), a.times
    assert np.all(np.isnan(pitch[t < 0.4])), "silence before speech has no pitch"
    voiced = pitch[(t > 0.5) & (t < 3.5)]
    assert np.sum(~np.isnan(voiced)) >= 8
    assert 70 < np.nanmedian(voiced) < 250, "espeak-ng's default male voice"
    assert a.column("speaking")[(t > 0.7) & (t < 3.0)].mean() > 0.8


def test_typed_transcript_is_spread_over_speech(face_speech_features):
    words = face_speech_features.words
    assert face_speech_features.transcript == SENTENCE and face_speech_features.transcript_source == "typed"
    assert all(w.estimated for w in words)
    assert words[0].start >= 0.3 and all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))


def test_record_carries_hash_settings_and_axes(face_speech_clip, face_speech_features):
    import hashlib

    f = face_speech_features
    assert f.content_hash == hashlib.sha256(face_speech_clip.read_bytes()).hexdigest()
    assert f.clip_id == "face_speech.mp4" and f.settings["hop"] == 0.1 and f.settings["fps"] == 10.0
    assert f.audio.step == pytest.approx(0.1) and f.visual.step == pytest.approx(0.1)
    assert f.audio.times[0] == pytest.approx(0.05) and f.visual.times[0] == pytest.approx(0.05)
    assert abs(f.audio.n_steps - f.visual.n_steps) <= 1


def test_frames_without_a_face_are_nan_not_zero(tmp_path):
    feats = extract_features(write_test_clip(tmp_path / "noface.mp4", duration=1.0))
    v = feats.visual
    assert np.all(v.column("face_present") == 0)
    for name in ("face_x", "face_size", "smile", "mouth_open"):
        assert np.all(np.isnan(v.column(name))), name
    assert np.all(np.isfinite(v.column("brightness")))


def test_in_memory_clip_gives_the_same_kind_of_record(tmp_path):
    frames, audio = blank_frames(30), tone(2.0)
    media = DecodedMedia.from_arrays(frames, 15.0, audio, SR, "gen.mp4")
    seen = []
    feats = extract_features(media, transcript="one two three", progress=lambda s, f: seen.append((s, f)))
    assert feats.visual.n_steps == 20, "15 fps input sampled at 10 fps"
    assert feats.audio.n_steps == 20 and feats.clip_id == "gen.mp4"
    assert len(feats.content_hash) == 64
    again = extract_features(DecodedMedia.from_arrays(frames, 15.0, audio, SR, "other.mp4"))
    assert again.content_hash == feats.content_hash, "hash depends on the arrays, not the name"
    assert ("decode", 1.0) in seen and ("visual", 1.0) in seen and seen[-1] == ("transcript", 1.0)


def test_audio_only_clip_has_no_visual_matrix(tmp_path):
    feats = extract_features(write_test_clip(tmp_path / "a.wav", duration=1.0, video=False))
    assert feats.visual is None and feats.audio.n_steps == 10 and feats.transcript_source == "none"


def test_sidecar_words_keep_their_cue_times(tmp_path):
    clip = write_test_clip(tmp_path / "c.mp4", duration=2.0)
    srt = tmp_path / "c.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nhello big world\n", encoding="utf-8")
    feats = extract_features(clip, sidecar=srt)
    assert feats.transcript == "hello big world" and feats.transcript_source == "sidecar"
    assert feats.words[0].start == pytest.approx(0.5) and feats.words[-1].end == pytest.approx(1.5)


def test_window_on_in_memory_clip(tmp_path):
    media = DecodedMedia.from_arrays(blank_frames(40), 10.0, tone(4.0), SR, "gen.mp4")
    feats = extract_features(media, settings=ExtractSettings(window=(1.0, 3.0)))
    assert feats.visual.times[0] == pytest.approx(1.05) and feats.visual.n_steps == 20
    assert feats.audio.times[0] == pytest.approx(1.05) and feats.audio.n_steps == 20
    assert feats.media.window == (1.0, 3.0)
