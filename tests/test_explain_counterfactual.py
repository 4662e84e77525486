"""Counterfactuals and the removal transforms they are built from."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.errors import MmvizError
from mmviz.explain import ExplainSettings, get_explainer
from mmviz.features.ablate import mask_span, mask_steps, remove, shift_steps, swap_modality, without
from mmviz.explain.counterfactual import counterfactual, make_change
from mmviz.testing.tiny import synthetic_clip
from test_explain_shapley import WINDOW, toy_runner

CF = get_explainer("counterfactuals")


@pytest.fixture(scope="module")
def audio_toy():
    return toy_runner("audio_window")


def toy_value(audio: np.ndarray, times: np.ndarray) -> float:
    z = np.nan_to_num(audio[:, 0])
    return float(0.5 * z[(times >= WINDOW[0]) & (times <= WINDOW[1])].sum())


# ---- transforms
def test_remove_with_each_baseline():
    clip, other = synthetic_clip(0), synthetic_clip(1, duration=2.0)
    assert remove(clip, "text").transcript == ""
    assert np.isnan(remove(clip, "audio").audio.values).all()
    assert (remove(clip, "audio", "zeros").audio.values == 0).all()
    assert remove(clip, ("audio", "visual"), "absent").visual is None
    swapped = remove(clip, "visual", "clip", other).visual
    assert swapped.values.shape == clip.visual.values.shape
    np.testing.assert_array_equal(swapped.values[:20], other.visual.values[:20])  # same clock for 2 s
    assert np.isnan(swapped.values[21:]).all()  # beyond the other clip's end: unmeasured
    with pytest.raises(MmvizError, match="Unknown modality"):
        remove(clip, "smell")


def test_mask_span_and_steps():
    clip = synthetic_clip(0)
    m = mask_span(clip, 1.0, 2.0)
    inside = (clip.audio.times >= 1.0) & (clip.audio.times <= 2.0)
    assert np.isnan(m.audio.values[inside]).all() and not np.isnan(m.audio.values[~inside]).any()
    assert all(w.end < 1.0 or w.start > 2.0 for w in m.words) and len(m.words) < len(clip.words)
    dropped = mask_span(clip, 1.0, 2.0, "absent")
    assert dropped.audio.n_steps == clip.audio.n_steps - inside.sum()
    s = mask_steps(clip, "visual", [0, 3])
    assert np.isnan(s.visual.values[[0, 3]]).all() and s.audio is clip.audio


def test_shift_moves_audio_and_leaves_no_wraparound():
    clip = synthetic_clip(0)
    s = shift_steps(clip, 3)
    np.testing.assert_array_equal(s.audio.values[3:], clip.audio.values[:-3])
    assert np.isnan(s.audio.values[:3]).all() and s.visual is clip.visual
    back = shift_steps(clip, -3)
    np.testing.assert_array_equal(back.audio.values[:-3], clip.audio.values[3:])
    assert np.isnan(shift_steps(clip, 100).audio.values).all()


def test_swap_and_without():
    a, b = synthetic_clip(0), synthetic_clip(1, text="awful")
    assert swap_modality(a, b, "text").transcript == "awful"
    assert swap_modality(a, b, "audio").audio is b.audio
    assert without(a, ("visual",)).visual is None


# ---- counterfactual predictions with known answers
def test_counterfactuals_on_the_audio_window_toy(audio_toy):
    clip = synthetic_clip(2)
    f0 = toy_value(clip.audio.values, clip.audio.times)
    rec = CF.explain(audio_toy, clip, ExplainSettings(mask_span=WINDOW, shift_steps=(-2, 3)))
    by = {c.name: c for c in rec}
    assert rec.original == pytest.approx(f0, abs=1e-5)
    assert by["drop audio"].delta == pytest.approx(-f0, abs=1e-5) and by["drop audio"].fused == pytest.approx(0, abs=1e-6)
    assert by["drop text"].delta == pytest.approx(0, abs=1e-6) and by["drop visual"].delta == pytest.approx(0, abs=1e-6)
    assert by["mask 1.0–1.5 s"].fused == pytest.approx(0, abs=1e-6)
    for k in (-2, 3):
        shifted = shift_steps(clip, k).audio.values
        c = next(c for c in rec if c.kind == "shift" and c.details["steps"] == k)
        assert c.fused == pytest.approx(toy_value(shifted, clip.audio.times), abs=1e-5)
        assert c.delta == pytest.approx(c.fused - rec.original, abs=1e-9)


def test_swap_counterfactual_uses_the_other_clip(audio_toy):
    clip, other = synthetic_clip(2), synthetic_clip(7)
    c = counterfactual(audio_toy, clip, "swap", modality="audio", other=other)
    assert c.fused == pytest.approx(toy_value(other.audio.values, other.audio.times), abs=1e-5)
    assert c.details == {"modality": "audio", "other": other.clip_id}


def test_standard_set_includes_swaps_only_with_another_clip(tiny_runner):
    from mmviz.explain import ClipContext

    clip = synthetic_clip(0)
    kinds = [c.kind for c in CF.explain(tiny_runner, clip)]
    assert kinds.count("drop") == 3 and "mask" in kinds and kinds.count("shift") == 2 and "swap" not in kinds
    ctx = ClipContext.build(tiny_runner, clip, other=synthetic_clip(1))
    assert [c.kind for c in CF.explain(tiny_runner, clip, context=ctx)].count("swap") == 3


def test_bad_requests_are_user_errors():
    clip = synthetic_clip(0)
    with pytest.raises(MmvizError, match="another clip"):
        make_change(clip, "swap")
    with pytest.raises(MmvizError, match="Unknown counterfactual"):
        make_change(clip, "rewind")
    with pytest.raises(MmvizError, match="before it starts"):
        make_change(clip, "mask", span=(2.0, 1.0))
