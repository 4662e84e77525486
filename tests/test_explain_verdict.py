"""Verdict wording built by hand: synergy vs redundancy vs cancellation vs conflict, the one-line
summary, and the note when Shapley and integrated gradients disagree in sign."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.explain.record import ExplainSettings, ModalityIG, ModalityShapley
from mmviz.explain.verdict import disagreement_notes, interaction_kind, summary_line, verdict

S = ExplainSettings()


def shapley(phi: dict, singles: dict, base: float = 0.0) -> ModalityShapley:
    """A ModalityShapley from hand-picked values: phi and the single-modality effects f({m}) - f(none)."""
    full = base + sum(phi.values())
    interaction = full - base - sum(singles.values())
    subsets = {"none": base, "text+audio+visual": full, **{m: base + v for m, v in singles.items()}}
    return ModalityShapley(phi, base, full, interaction, subsets, ("text", "audio", "visual"), "mean", "empty", S, 0)


def ig(totals: dict, prediction: float = 0.0, deltas=None) -> ModalityIG:
    deltas = deltas or {"audio+visual": 0.0, "text": 0.0}
    return ModalityIG(totals, deltas, max(abs(v) for v in deltas.values()), prediction,
                      {"audio+visual": prediction - totals["audio"] - totals["visual"], "text": prediction - totals["text"]},
                      "mean", {"audio+visual": 16, "text": 16}, "gausslegendre", S, 0)


def test_demo003_is_redundancy_not_more_than_the_sum():
    # demo003 ("i think the book was terrible overall"): each alone -5.2 in total, together -2.4
    rec = shapley({"text": -1.5, "audio": -0.6, "visual": -0.3}, {"text": -2.6, "audio": -1.7, "visual": -0.93})
    assert rec.interaction == pytest.approx(2.83, abs=0.01)
    v = verdict(rec)
    assert v.interaction == "redundancy"
    assert "Each alone says more than they do together" in v.text and "redundancy" in v.text
    assert "more than the sum" not in v.text and "further" not in v.text


def test_synergy_when_the_interaction_pushes_the_same_way():
    rec = shapley({"text": 1.2, "audio": 0.9, "visual": 0.1}, {"text": 0.6, "audio": 0.5, "visual": 0.1})
    v = verdict(rec)
    assert v.interaction == "synergy" and "further up than the sum of each alone" in v.text
    assert v.kind == "complementary"


def test_cancellation_when_together_they_undo_each_alone():
    rec = shapley({"text": 0.3, "audio": -0.1, "visual": -0.15}, {"text": 1.5, "audio": 0.8, "visual": 0.2})
    assert interaction_kind(rec.values, rec.interaction) == "cancellation"
    assert "cancel out" in verdict(rec).text


def test_small_interaction_is_not_mentioned():
    rec = shapley({"text": 1.0, "audio": 0.2, "visual": 0.0}, {"text": 0.95, "audio": 0.2, "visual": 0.0})
    v = verdict(rec)
    assert v.interaction == "" and "interaction" not in v.text


def test_conflict_says_who_pulls_which_way():
    rec = shapley({"text": 1.8, "audio": -1.0, "visual": 0.1}, {"text": 1.8, "audio": -1.0, "visual": 0.1}, base=0.2)
    v = verdict(rec)
    assert v.kind == "conflicting" and "the words push the score up while the voice pulls it down" in v.text
    assert v.summary.startswith("A tug of war: the words pulled towards positive, the voice towards negative")
    assert "reads as positive (+1.10)" in v.summary


def test_summary_names_the_decider_and_what_pulled_against_it():
    rec = shapley({"text": -0.3, "audio": 2.0, "visual": 0.1}, {"text": -0.3, "audio": 2.0, "visual": 0.1})
    assert verdict(rec).summary == ("Mostly the voice: it made this clip read as positive (+1.80); the words pulled "
                                    "slightly the other way.")
    weak = summary_line({"text": 0.01, "audio": 0.0, "visual": 0.01}, 0.3)
    assert weak.startswith("Nothing in this clip moved the score much") and "about neutral" in weak


def test_disagreement_note_when_signs_differ():
    rec = shapley({"text": 1.2, "audio": -0.4, "visual": 0.02}, {"text": 1.2, "audio": -0.4, "visual": 0.02})
    notes = verdict(rec, ig=ig({"text": -0.5, "audio": -0.3, "visual": -0.01}, deltas={"audio+visual": 0.0, "text": 0.9})).notes
    assert len(notes) == 1  # audio agrees; visual is too small to count
    n = notes[0]
    assert "disagree on the words" in n and "pad tokens" in n and "empty transcript" in n and "saturates" in n
    assert "misses" in n  # the IG path's own completeness gap is part of the why
    av = disagreement_notes(rec, ig({"text": 1.0, "audio": 0.5, "visual": 0.0}))
    assert len(av) == 1 and "the voice" in av[0] and "training mean" in av[0]
    assert disagreement_notes(rec, ig({"text": 1.0, "audio": -0.2, "visual": 0.0})) == ()
    assert verdict(rec).notes == ()  # no IG, no note


def test_verdict_on_a_real_explanation_carries_the_notes(tiny_runner):
    from mmviz.explain import explain_clip
    from mmviz.testing.tiny import synthetic_clip

    e = explain_clip(tiny_runner, synthetic_clip(0), ExplainSettings(ig_steps=8, methods=("shapley", "integrated_gradients")))
    assert e.verdict.summary and e.verdict.summary[0].isupper()
    assert all(n in e.notes for n in e.verdict.notes)
    assert np.isfinite(e.shapley.interaction)
