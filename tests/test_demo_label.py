"""The demo label rule: the strongest salient cue decides; otherwise the clip is neutral."""

import pytest

from mmviz.demo.label import SALIENCE, demo_label


@pytest.mark.parametrize(
    "text, vocal, facial, value, decisive, conflict",
    [
        (2.5, 0.0, 0.0, 2.5, "text", False),  # one modality decides
        (0.3, -2.0, 0.4, -2.0, "audio", False),
        (1.0, 1.5, 2.0, 2.0, "visual", False),  # all agree: the strongest one decides
        (2.5, -1.5, 0.0, 2.5, "text", True),  # conflict: the strong cue wins
        (-0.4, 1.2, -2.8, -2.8, "visual", True),
        (0.5, -0.8, 0.9, 0.0, "none", False),  # nothing salient: neutral
        (2.0, 0.0, -2.0, 2.0, "text", True),  # tie: text before audio before visual
        (0.0, -1.0, 1.0, -1.0, "audio", True),
    ],
)
def test_hand_computed_cases(text, vocal, facial, value, decisive, conflict):
    got = demo_label(text, vocal, facial)
    assert got.value == pytest.approx(value)
    assert got.decisive_modality == decisive
    assert got.conflict is conflict


def test_salience_threshold_is_inclusive():
    assert demo_label(0.0, 0.0, SALIENCE).decisive_modality == "visual"
    assert demo_label(0.0, 0.0, SALIENCE - 0.01).decisive_modality == "none"


def test_weak_opposite_cues_are_not_a_conflict():
    assert demo_label(2.0, -0.9, 0.0).conflict is False


def test_out_of_range_valence_is_rejected():
    with pytest.raises(ValueError):
        demo_label(3.5, 0.0, 0.0)
