"""Utterance splitting on synthetic features: pauses, merging, splitting, exact cutting."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mmviz.features.utterances import UtteranceLimits, cut_utterances, split_utterances, utterance_offset
from mmviz.records.features import ClipFeatures, MediaInfo, TimedMatrix, Word

HOP = 0.1


def words_per_token(text: str) -> int:
    """A toy tokenizer: one token per word, two for words longer than 6 letters (not additive-friendly on purpose)."""
    return sum(2 if len(w) > 6 else 1 for w in text.split())


def recording(speech: list[tuple[float, float]], duration: float, *, words_per_second: float = 0.0, seed: int = 0,
              window: tuple[float, float] | None = None) -> ClipFeatures:
    """Features of a recording with speech in the given spans (clip seconds): a ``speaking`` track,
    random descriptors, 10 fps video, and words laid contiguously over the speech."""
    t0 = window[0] if window else 0.0
    rng = np.random.default_rng(seed)
    ta = t0 + np.arange(int(round(duration / HOP))) * HOP + HOP / 2
    speaking = np.zeros(len(ta), np.float32)
    for a, b in speech:
        speaking[(ta >= a) & (ta < b)] = 1.0
    audio = TimedMatrix(np.column_stack([rng.normal(size=len(ta)), speaking]).astype(np.float32), ("rms_db", "speaking"), ta, HOP)
    visual = TimedMatrix(rng.normal(size=(len(ta), 2)).astype(np.float32), ("smile", "motion"), ta.copy(), HOP)
    ws = []
    vocab = ["good", "terrible", "movie", "wonderful", "plot", "acting", "boring", "really"]
    for a, b in speech:
        n = int(round((b - a) * words_per_second))
        for k in range(n):
            ws.append(Word(vocab[(len(ws) * 7 + seed) % len(vocab)], a + (b - a) * k / n, a + (b - a) * (k + 1) / n, True))
    h = hashlib.sha256(f"rec:{speech}:{duration}:{seed}".encode()).hexdigest()
    media = MediaInfo("talk.mp4", "mp4", duration, duration, True, True, window=window)
    return ClipFeatures("talk.mp4", h, audio, visual, tuple(ws), "typed" if ws else "none", media, {"hop": HOP})


def check_tiling(feats, spans, limits, count=words_per_token):
    t0 = feats.media.window[0] if feats.media.window else 0.0
    assert spans[0].start == pytest.approx(t0) and spans[-1].end == pytest.approx(t0 + feats.duration)
    for x, y in zip(spans, spans[1:]):
        assert x.end == y.start
    for sp in spans:
        assert 0 < sp.duration <= limits.max_seconds + 1e-6
        assert sp.n_tokens <= limits.max_tokens
    pieces = cut_utterances(feats, spans)
    assert sum(p.audio.n_steps for p in pieces) == feats.audio.n_steps  # every step in exactly one piece
    assert sum(p.visual.n_steps for p in pieces) == feats.visual.n_steps
    assert sum(len(p.words) for p in pieces) == len(feats.words)
    assert [w.text for p in pieces for w in p.words] == [w.text for w in feats.words]
    for sp, p in zip(spans, pieces):
        assert p.audio.n_steps <= round(limits.max_seconds / HOP) and count(p.transcript) <= limits.max_tokens
        assert p.audio.n_steps == 0 or (p.audio.times[0] >= 0 and p.audio.times[-1] < p.duration)
        assert all(0 <= w.start <= w.end <= p.duration + 1e-9 for w in p.words)
        assert utterance_offset(p) == sp.start and p.duration == pytest.approx(sp.duration)
    assert len({p.content_hash for p in pieces}) == len(pieces)
    return pieces


def test_sentences_separated_by_pauses_become_utterances():
    # 150 s: sentences of 8 s, each followed by 1.2 s of silence
    speech = [(0.5 + 9.2 * k, 8.5 + 9.2 * k) for k in range(16)]
    feats = recording(speech, 150.0, words_per_second=2.0)
    limits = UtteranceLimits()
    spans = split_utterances(feats, limits, count_tokens=words_per_token)
    check_tiling(feats, spans, limits)
    assert len(spans) == 16 and [s.cut for s in spans] == ["pause"] * 15 + ["end"]
    assert not any(s.long or s.short for s in spans)
    for (a, b), sp in zip(speech, spans[:-1]):  # each cut sits in the silence after its sentence
        assert b <= sp.end <= b + 1.2
    assert split_utterances(feats, limits, count_tokens=words_per_token) == spans  # deterministic


def test_short_pieces_join_a_neighbour():
    # 1 s bursts with 0.7 s pauses: each alone is under min_seconds
    speech = [(0.2 + 1.7 * k, 1.2 + 1.7 * k) for k in range(12)]
    feats = recording(speech, 20.6, words_per_second=2.0)
    limits = UtteranceLimits(min_seconds=3.0)
    spans = split_utterances(feats, limits, count_tokens=words_per_token)
    check_tiling(feats, spans, limits)
    assert 1 < len(spans) < 12 and all(s.duration >= 3.0 for s in spans) and not any(s.short for s in spans)


def test_speech_without_pauses_is_split_evenly_and_flagged_long():
    feats = recording([(0.0, 150.0)], 150.0)  # no words, no silence: nowhere better to cut
    limits = UtteranceLimits()
    spans = split_utterances(feats, limits)
    check_tiling(feats, spans, limits)
    assert len(spans) == 3 and all(s.long for s in spans) and [s.cut for s in spans] == ["split", "split", "end"]
    assert [round(s.duration) for s in spans] == [50, 50, 50]


def test_an_overlong_stretch_is_cut_at_its_longest_silence():
    # 70 s of speech with short gaps (under min_pause) at 20 s, 35 s (the longest) and 50 s
    speech = [(0.0, 19.8), (20.1, 34.8), (35.2, 49.8), (50.1, 70.0)]
    feats = recording(speech, 70.0)
    spans = split_utterances(feats, UtteranceLimits(), count_tokens=words_per_token)
    assert len(spans) == 2 and 34.8 <= spans[0].end <= 35.2 and spans[0].cut == "split"


def test_too_many_tokens_are_split_between_words():
    feats = recording([(0.0, 30.0)], 30.0, words_per_second=5.0)  # 150 words in 30 s: over 64 tokens
    limits = UtteranceLimits()
    spans = split_utterances(feats, limits, count_tokens=words_per_token)
    pieces = check_tiling(feats, spans, limits)
    assert len(spans) >= 3 and all(s.long for s in spans)
    ends = {round(w.end, 6) for w in feats.words}
    for sp in spans[:-1]:  # every cut falls on a word boundary (the words are contiguous here)
        assert min(abs(sp.end - e) for e in ends) <= HOP / 2 + 1e-9
    assert sum(words_per_token(p.transcript) for p in pieces) == words_per_token(feats.transcript)


def test_a_window_keeps_the_clip_clock():
    speech = [(100.5 + 9.2 * k, 108.5 + 9.2 * k) for k in range(10)]
    feats = recording(speech, 92.0, words_per_second=2.0, window=(100.0, 192.0))
    limits = UtteranceLimits()
    spans = split_utterances(feats, limits, count_tokens=words_per_token)
    check_tiling(feats, spans, limits)
    assert spans[0].start == 100.0 and spans[-1].end == pytest.approx(192.0)


def test_a_clip_that_fits_and_has_no_pause_stays_whole():
    feats = recording([(0.0, 20.0)], 20.0, words_per_second=1.0)
    spans = split_utterances(feats, count_tokens=words_per_token)
    assert len(spans) == 1 and spans[0].cut == "end" and spans[0].n_words == 20
    (piece,) = cut_utterances(feats, spans)
    assert np.array_equal(piece.audio.values, feats.audio.values) and piece.words == feats.words
