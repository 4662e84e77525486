"""Dataset-level verdicts are the model's own exact Shapley values, batched across clips."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmviz.explain import ExplainSettings, get_explainer
from mmviz.explain.dataset_verdicts import CONFLICT_MIN, DatasetVerdicts, dataset_verdicts, summarise
from mmviz.explain.record import MODALITIES
from mmviz.testing.tiny import clip_for


def test_batched_verdicts_equal_the_per_clip_shapley_explainer(tiny_runner):
    clips = [clip_for(tiny_runner, 70 + i, text=("a fine film" if i % 2 else "so dull")) for i in range(5)]
    clips[2] = dataclasses.replace(clips[2], visual=None)  # an absent modality gets exactly 0
    seen = []
    v = dataset_verdicts(tiny_runner, clips, batch_clips=2, progress=lambda s, f: seen.append(f))
    assert seen[-1] == 1.0 and len(seen) == 3
    for i, c in enumerate(clips):
        ref = get_explainer("shapley").explain(tiny_runner, c, ExplainSettings())
        np.testing.assert_allclose(v.shapley[i], [ref.values[m] for m in MODALITIES], atol=1e-4)
        assert v.shapley[i].sum() == pytest.approx(v.full[i] - v.base[i], abs=1e-5)
    assert v.shapley[2, 2] == 0.0
    assert v.checkpoint_hash == tiny_runner.checkpoint_hash and v.baseline == "mean"
    cols = v.columns()
    assert {"shap_text", "shap_audio", "shap_visual", "model_dominant", "model_conflict"} <= set(cols)


def test_dominant_and_conflict_follow_the_shapley_values():
    phi = np.array([[1.0, -0.3, 0.1], [0.1, 0.2, -0.05], [0.0, 0.0, 0.0], [0.2, -2.0, 0.3]])
    v = DatasetVerdicts(("a", "b", "c", "d"), phi, np.zeros(4), phi.sum(1), "x")
    assert list(v.dominant) == ["text", "audio", "none", "audio"]
    assert list(v.conflict) == [True, False, False, True]  # b: -0.05 is below CONFLICT_MIN
    assert CONFLICT_MIN == 0.25
    s = summarise(v.dominant, v.conflict, correct=[1.0, 0.0, np.nan, 0.0])
    assert s["dominant_share"]["audio"] == 0.5 and s["conflict_rate"] == 0.5
    assert s["error_by_dominant"]["audio"] == (1.0, 2) and s["error_by_dominant"]["text"] == (0.0, 1)
    assert s["error_by_conflict"]["conflict"] == (0.5, 2)
