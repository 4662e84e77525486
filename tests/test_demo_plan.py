"""The scenario mix of the demo corpus: decided by the seed, before any media is made."""

from collections import Counter

from mmviz.demo.label import demo_label
from mmviz.demo.plan import SCENARIOS, plan_clip


def test_every_twelve_clips_hold_every_scenario():
    plans = [plan_clip(i, 5) for i in range(12)]
    assert Counter((p.kind, p.span_modality) for p in plans) == Counter((k, d if s else "") for k, d, s in SCENARIOS)


def test_plans_are_deterministic_and_seed_dependent():
    assert [plan_clip(i, 3) for i in range(12)] == [plan_clip(i, 3) for i in range(12)]
    assert [plan_clip(i, 3).targets for i in range(12)] != [plan_clip(i, 4).targets for i in range(12)]


def test_planned_valences_give_the_intended_decisive_modality():
    """Using the targets as if they were exact, each plan's scenario is what the label rule sees."""
    for i in range(48):
        p = plan_clip(i, 11)
        t = p.targets
        lab = demo_label(t["text"], t["audio"], t["visual"])
        if p.kind == "neutral":
            assert lab.decisive_modality == "none"
        elif p.kind == "conflict":
            assert lab.conflict
        elif p.kind == "agree":
            assert not lab.conflict and all(abs(v) >= 1 for v in t.values())
        else:
            assert not lab.conflict
        if p.span_modality:
            assert lab.decisive_modality == p.span_modality
