"""Whole recordings: a clip longer than the model reads is analysed utterance by utterance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmviz.app_service.service import AppService
from mmviz.explain.recording import RecordingAnalysis
from mmviz.features.utterances import utterance_offset
from mmviz.records.features import TimedMatrix
from mmviz.records.serialize import load_record, records_equal, save_record
from mmviz.testing.tiny import clip_for
from mmviz.transcript.align import spread_words, voiced_segments

SENTENCES = ["the acting was wonderful and the story kept me watching all the way",
             "but the ending dragged on far too long for what it had to say",
             "the music was <b>lovely</b>", "i would still recommend it to a friend who likes slow films"]


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return AppService("tiny", tmp_path_factory.mktemp("cache"))


def long_recording(svc, seconds: float = 150.0, seed: int = 0):
    """Synthetic features of a ``seconds`` talk: 25 s of speech, then 1.5 s of silence, repeated,
    with the sentences' words laid over the speech (what typed text gets)."""
    clip = clip_for(svc.runner, seed, duration=seconds, text="")
    a = clip.audio
    speaking = ((a.times % 26.5) < 25.0).astype(np.float32)
    vals = a.values.copy()
    vals[:, a.names.index("speaking")] = speaking
    audio = TimedMatrix(vals, a.names, a.times, a.step)
    segs = voiced_segments(speaking, a.times, a.step)
    text = " ".join(SENTENCES[k % len(SENTENCES)] for k in range(len(segs)))
    words = spread_words(text, segs, duration=seconds)
    return dataclasses.replace(clip, audio=audio, words=words, transcript_source="typed")


@pytest.fixture(scope="module")
def analysed(svc):
    """The 150 s recording analysed once (tiny model), with the progress it reported."""
    feats = long_recording(svc)
    stages = []
    return feats, svc.analyze_recording(feats, progress=lambda s, f: stages.append((s, f))), stages


def test_a_150_s_recording_is_analysed_whole_in_utterances(svc, analysed):
    feats, rec, stages = analysed
    assert not svc.reads_whole(feats) and svc.reads_whole(clip_for(svc.runner, 5))
    n = len(rec.utterances)
    assert isinstance(rec, RecordingAnalysis) and n >= 3
    # the utterances tile the clip and each fits what the model reads: no truncation note anywhere
    assert rec.spans[0].start == 0.0 and rec.spans[-1].end == pytest.approx(150.0)
    assert all(x.end == y.start for x, y in zip(rec.spans, rec.spans[1:]))
    cfg = svc.runner.cfg
    for sp, u in zip(rec.spans, rec.utterances):
        assert u.inspection.notes == () and u.warnings == ()
        sizes = u.inspection.input_sizes
        assert sizes["n_audio_steps"] == u.features.audio.n_steps <= cfg.max_av_steps
        assert sizes["n_text_tokens"] == svc.runner.count_tokens(u.features.transcript) <= cfg.max_text_tokens
        assert utterance_offset(u.features) == sp.start and u.features.duration == pytest.approx(sp.duration)
    assert sum(u.features.audio.n_steps for u in rec.utterances) == feats.audio.n_steps
    assert [w.text for u in rec.utterances for w in u.features.words] == [w.text for w in feats.words]
    assert rec.warnings == ()
    # the clip-level summary
    s = rec.summary
    fused = np.array([u.inspection.predictions.fused for u in rec.utterances])
    assert np.allclose(s.scores["fused"], fused)
    assert s.mean["fused"] == pytest.approx(np.average(fused, weights=[sp.duration for sp in rec.spans]))
    assert set(s.mean) == {"fused", "text", "audio", "visual"} and s.short == () and len(s.starts) == n
    assert rec.at(0.0) == 0 and rec.at(149.9) == n - 1 and rec.at(rec.spans[1].start + 0.01) == 1
    # progress per utterance, in order
    assert stages[-1][1] == 1.0 and [f for _, f in stages] == sorted(f for _, f in stages)
    assert any(st.startswith(f"utterance 1 of {n}:") for st, _ in stages)
    assert any(st.startswith(f"utterance {n} of {n}:") for st, _ in stages)


def test_each_utterance_is_cached_under_its_own_key(svc, analysed, monkeypatch):
    feats, first, _ = analysed
    assert len({u.key for u in first.utterances}) == len(first.utterances)
    fresh = AppService("tiny", svc.cache)  # a second server process or user
    calls = []
    monkeypatch.setattr(fresh.runner, "inspect", lambda *a, **k: calls.append(1) or [])
    again = fresh.analyze_recording(feats)
    assert calls == []  # every utterance came from the store
    assert again.key == first.key and np.allclose(again.scores("fused"), first.scores("fused"))
    for u in first.utterances:  # a saved explanation of one utterance reopens with its features
        assert svc.store.find_features(u.features.content_hash).content_hash == u.features.content_hash


def test_a_recording_analysis_saves_and_loads(analysed, tmp_path):
    rec = analysed[1]
    back = load_record(save_record(rec, tmp_path / "rec"))
    assert isinstance(back, RecordingAnalysis) and records_equal(back, rec) and back.key == rec.key


def test_the_timeline_draws_each_utterance_on_the_clip_clock(analysed):
    from mmviz.figures.recording import recording_timeline

    rec = analysed[1]
    fig = recording_timeline(rec, selected=1)
    n = len(rec.spans)
    assert [t.name for t in fig.data] == ["visual", "audio", "text", "fused"]
    fused = fig.data[-1]
    assert list(fused.base) == [sp.start for sp in rec.spans] and np.allclose(fused.x, rec.durations)
    assert np.allclose(fused.marker.color, rec.scores("fused")) and [c[0] for c in fused.customdata] == list(range(n))
    assert fused.marker.line.width[1] == 3 and fused.marker.line.width[0] < 1  # the selected utterance is outlined
    hover = " ".join(fused.hovertext)
    assert "&lt;b&gt;lovely&lt;/b&gt;" in hover and "<b>lovely</b>" not in hover  # transcripts are escaped
    assert f"{rec.mean('fused'):+.2f}" in fig.layout.title.text


@pytest.fixture
def page_env(monkeypatch, tmp_path_factory, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.mktemp("app-cache")))


def test_clip_review_shows_the_recording_and_drills_down(page_env, analysed):
    from streamlit.testing.v1 import AppTest

    from mmviz.app import page_path
    from mmviz.app_service import ui

    rec = analysed[1]
    at = AppTest.from_file(str(page_path("clip_review.py")), default_timeout=180)
    at.session_state["recording_result"] = rec
    at.session_state[ui.RESULT] = rec.utterances[0]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Whole recording" in h.value for h in at.subheader)
    assert any(f"{len(rec.spans)} utterances" in m.value for m in at.markdown)
    pick = at.selectbox(key=f"utterance-{rec.key}")
    assert pick.value == 0
    pick.set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[ui.RESULT].key == rec.utterances[2].key  # the views below are of utterance 3
    assert at.subheader[1].value.endswith(f"{rec.spans[2].start:.1f}–{rec.spans[2].end:.1f} s")
    assert any("into the recording" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_spoken_three_minute_recording_is_read_whole(tmp_path, repo_root, real_backbone):
    """espeak-ng reads a 3-minute review (pauses between paragraphs). Split for the shipped model's
    tokenizer, every utterance fits what that model reads; analysed (tiny model, same limits),
    no utterance carries a truncation note, though the whole clip would have been cut."""
    import importlib.util

    from mmviz.features.utterances import UtteranceLimits, cut_utterances, split_utterances
    from mmviz.inference.runner import truncation_note
    from mmviz.media.speech import espeak_available
    from mmviz_models.config import FusionConfig

    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    spec = importlib.util.spec_from_file_location("app_bench", repo_root / "bench" / "app_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path, text = bench.pick_recording(tmp_path, 180.0, video=False)
    svc = AppService("tiny", tmp_path / "cache")
    feats = svc.features(path, transcript=text)
    assert feats.duration == pytest.approx(180.0, abs=0.2) and len(feats.words) == len(text.split())
    # the shipped model's reading limits and tokenizer
    cfg = FusionConfig()
    tok = real_backbone.tokenizer

    def count(t: str) -> int:
        return len(tok(t, add_special_tokens=False)["input_ids"]) if t.strip() else 0

    whole = truncation_note(feats, cfg, count(feats.transcript))  # read as one clip, it would be cut, and say so
    assert whole is not None and "the first 60.0 s of 180.0 s" in whole and "transcript tokens" in whole
    spans = split_utterances(feats, UtteranceLimits(max_seconds=cfg.max_av_steps * 0.1, max_tokens=cfg.max_text_tokens),
                             count_tokens=count)
    assert len(spans) >= 4 and sum(sp.cut == "pause" for sp in spans) >= len(spans) // 2  # mostly at the spoken pauses
    assert all(truncation_note(p, cfg, count(p.transcript)) is None for p in cut_utterances(feats, spans))
    # analysed utterance by utterance: nothing cut anywhere
    rec = svc.analyze_recording(feats, media_path=str(path))
    assert len(rec.spans) >= 4 and rec.warnings == ()
    assert rec.spans[0].start == 0.0 and rec.spans[-1].end == pytest.approx(feats.duration)
    for u in rec.utterances:
        assert u.inspection.notes == () and not any("read only" in n for n in u.explanation.notes)
    assert sum(len(u.features.words) for u in rec.utterances) == len(feats.words)
