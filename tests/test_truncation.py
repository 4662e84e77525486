"""A clip longer than the model reads is never cut silently: the records and the page say what was cut."""

from __future__ import annotations

import re

from mmviz.explain import explain_clip
from mmviz.explain.analysis import ClipAnalysis
from mmviz.explain.record import ExplainSettings
from mmviz.testing.tiny import clip_for

FAST = ExplainSettings(methods=("shapley",))
TEXT = " ".join(["the", "acting", "was", "wonderful", "but", "the", "ending", "dragged"] * 12 + ["on", "and", "on", "sadly"])


def test_a_long_clip_says_what_the_model_did_not_read(tiny_runner):
    clip = clip_for(tiny_runner, 0, duration=120.0, text=TEXT)  # 1200 steps, 100 words
    total = tiny_runner.count_tokens(clip.transcript)
    assert total > tiny_runner.cfg.max_text_tokens
    ins = tiny_runner.inspect([clip])[0]
    expected = f"the first 60.0 s of 120.0 s and the first 64 of {total} transcript tokens"
    assert any(expected in n for n in ins.notes), ins.notes
    ex = explain_clip(tiny_runner, clip, FAST, inspection=ins)
    assert expected in ex.notes[0]
    words = int(re.search(r"about (\d+) of 100 words", ins.notes[0]).group(1))
    assert 0 < words < 100
    assert any(expected in w for w in ClipAnalysis(clip, ins, ex).warnings)  # the page shows these


def test_only_what_was_cut_is_named(tiny_runner):
    long_quiet = clip_for(tiny_runner, 1, duration=75.0, text="short words only")
    (note,) = tiny_runner.inspect([long_quiet])[0].notes
    assert "the first 60.0 s of 75.0 s;" in note and "tokens" not in note
    chatty = clip_for(tiny_runner, 2, duration=10.0, text=TEXT)
    (note,) = tiny_runner.inspect([chatty])[0].notes
    assert "transcript tokens" in note and " s of " not in note


def test_a_clip_the_model_reads_whole_has_no_note(tiny_runner):
    clip = clip_for(tiny_runner, 3, duration=60.0, text="a clip of exactly sixty seconds")
    assert tiny_runner.inspect([clip])[0].notes == ()
    assert tiny_runner.truncation_note(clip) is None
