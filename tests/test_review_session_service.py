"""The review session's service logic without Streamlit: labels, sidecar errors, per-modality
masks, the what-if transcript editor and the labelled-uploads dataset."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.app_service.datasets import UPLOADS, uploads_dataset
from mmviz.app_service.service import AppService, parse_label
from mmviz.errors import MmvizError
from mmviz.features.transcript_edit import edit_transcript
from mmviz.testing.tiny import clip_for


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return AppService("tiny", tmp_path_factory.mktemp("cache"))


def test_label_is_optional_and_on_the_mosi_scale():
    assert parse_label("") is None and parse_label("   ") is None and parse_label(None) is None
    assert parse_label("1.5") == 1.5 and parse_label("−2") == -2.0 and parse_label(" +3 ") == 3.0
    for bad, says in (("3.5", "outside the sentiment scale"), ("-7", "outside"), ("nan", "outside"), ("good", "not a number")):
        with pytest.raises(MmvizError) as e:
            parse_label(bad)
        assert says in e.value.message and "-3" in e.value.hint


def test_a_bad_sidecar_names_the_users_file_not_the_stored_hash(svc):
    with pytest.raises(MmvizError) as e:
        svc.save_sidecar("my interview.srt", b"1\n00:00:00,000 --> 00:00:01,000\ncaf\xe9\n")
    assert "my interview.srt" in str(e.value) and "not valid UTF-8" in str(e.value)
    # an error raised later, while reading the upload, names the user's files as well
    up = svc.save_upload("holiday.mp4", b"definitely not a video" * 50)
    sc = svc.save_sidecar("words.txt", b"hello there")
    with pytest.raises(MmvizError) as e:
        svc.upload_features(up, sidecar=sc, sidecar_name="words.txt")
    assert "holiday.mp4" in str(e.value) and up.sha256[:12] not in str(e.value)


def test_mask_one_modality_over_a_span(svc):
    clip = clip_for(svc.runner, 5, duration=4.0, text="this was a really lovely film")
    r, ins = svc.mask_modality(clip, "audio", (1.0, 2.0))
    assert r.kind == "mask" and r.details == {"span": [1.0, 2.0], "modalities": ["audio"]}
    assert r.name == "mask audio 1.00–2.00 s"
    assert r.fused == pytest.approx(ins.predictions.fused)
    assert r.delta == pytest.approx(ins.predictions.fused - svc.inspection(clip).predictions.fused)
    r_text, _ = svc.mask_modality(clip, "text", (0.0, 4.0))  # every word removed: the text-removed input
    empty = svc.inspection(clip_for(svc.runner, 5, duration=4.0, text="")).predictions.fused
    assert r_text.fused == pytest.approx(empty, abs=1e-5)
    with pytest.raises(MmvizError):
        svc.mask_modality(clip, "smell", (0.0, 1.0))


def test_edit_transcript_keeps_audio_video_and_word_times():
    from mmviz.testing.tiny import tiny_runner

    clip = clip_for(tiny_runner(), 7, duration=3.0, text="the food was good")
    same_count = edit_transcript(clip, "the food was awful")
    assert [w.text for w in same_count.words] == ["the", "food", "was", "awful"]
    assert [(w.start, w.end) for w in same_count.words] == [(w.start, w.end) for w in clip.words]
    assert same_count.audio is clip.audio and same_count.visual is clip.visual
    assert same_count.content_hash == clip.content_hash
    longer = edit_transcript(clip, "the food was not good at all")
    assert len(longer.words) == 7 and all(w.estimated for w in longer.words) and longer.transcript_source == "typed"
    assert all(0 <= w.start <= w.end <= clip.duration + 1e-6 for w in longer.words)
    assert edit_transcript(clip, "").words == ()


def test_what_if_runs_through_the_store_and_is_cached(svc, monkeypatch):
    clip = clip_for(svc.runner, 8, duration=3.0, text="the food was good")
    orig = svc.analyze(clip)
    edited = svc.what_if_transcript(clip, "the food was awful")
    assert edited.key != orig.key and edited.features.transcript == "the food was awful"
    assert edited.explanation.word_attributions.words[-1] == "awful"
    calls = []
    monkeypatch.setattr(svc.runner, "inspect", lambda *a, **k: calls.append(1) or [])
    again = svc.what_if_transcript(clip, "the food was awful")
    assert calls == [] and again.inspection.predictions.fused == pytest.approx(edited.inspection.predictions.fused)


def test_labelled_uploads_become_a_dataset(svc):
    with pytest.raises(MmvizError) as e:
        uploads_dataset(svc)
    assert "label" in e.value.hint
    clips = [clip_for(svc.runner, 30 + i, duration=2.0, text=t) for i, t in enumerate(["good", "bad", "fine", "awful", "great", "meh"])]
    for c, lab in zip(clips, [2.0, -2.0, 0.5, -3.0, 3.0, 0.0]):
        svc.remember_label(c, lab, media_path=None)
    svc.remember_label(clips[5], -0.5)  # labelled again: the latest label wins
    ds = uploads_dataset(svc)
    assert ds.source.startswith(UPLOADS) and len(ds.table) == 6
    labels = dict(zip(ds.table["content_hash"], ds.table["label"]))
    assert labels[clips[0].content_hash] == 2.0 and labels[clips[5].content_hash] == -0.5
    assert np.isfinite(ds.metrics["MAE"])
    svc.remember_label(clip_for(svc.runner, 40, duration=2.0, text="ok"), 1.0)
    assert len(uploads_dataset(svc).table) == 7  # a new labelled upload gives a new view, not the cached one
