"""The word-deletion metric's rules (bench/word_faithfulness.py): exclusion before attribution, curve points."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import word_faithfulness as wf  # noqa: E402


def test_exclusion_rule_is_the_stated_one():
    assert wf.excluded(1, 2.0) == "fewer than 2 words"
    assert wf.excluded(5, 0.05) == f"|prediction| < {wf.MIN_DIRECTION}"
    assert wf.excluded(5, -0.05) == f"|prediction| < {wf.MIN_DIRECTION}"
    assert wf.excluded(5, -0.2) == "" and wf.excluded(2, 0.1) == ""


def test_curve_points_every_word_then_every_tenth():
    np.testing.assert_array_equal(wf.deletion_points(4), [0, 1, 2, 3, 4])
    pts = wf.deletion_points(25)
    assert pts[0] == 0 and pts[-1] == 25 and len(pts) == 11 and (np.diff(pts) > 0).all()


def test_planted_phrase_finds_the_longest_evaluative_phrase():
    assert wf.planted_phrase("honestly the story was really disappointing") == (4, 5)
    assert wf.planted_phrase("nothing here") == ()
