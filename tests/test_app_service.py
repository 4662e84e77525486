"""The dashboard's service layer, without Streamlit: caching, uploads, fallback explanations."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.app_service.datasets import add_slices, score_dataset, synthetic_features, tsne_map
from mmviz.app_service.fallback_explain import shapley, verdict
from mmviz.app_service.service import AppService, knn_place
from mmviz.errors import MmvizError


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return AppService("tiny", tmp_path_factory.mktemp("cache"))


def test_shapley_is_efficient(svc):
    clip = synthetic_features(1, svc.runner)
    phi, inter, base, full = shapley(svc.runner, clip)
    # exact Shapley over 3 players: contributions add up to full − base
    assert sum(phi.values()) == pytest.approx(full - base, abs=1e-5)
    assert np.isfinite(inter)


def test_verdicts():
    assert verdict({"text": 1.0, "audio": 0.05, "visual": 0.05})[0] == "dominant"
    assert verdict({"text": 1.0, "audio": -0.8, "visual": 0.0})[0] == "conflicting"
    assert verdict({"text": 0.5, "audio": 0.4, "visual": 0.45})[0] == "complementary"


def test_results_are_cached_on_disk(svc, monkeypatch):
    clip = synthetic_features(2, svc.runner)
    first = svc.analyze(clip)
    fresh = AppService("tiny", svc.cache)  # a second server process / user
    calls = []
    monkeypatch.setattr(fresh.runner, "inspect", lambda *a, **k: calls.append(1) or [])
    again = fresh.analyze(clip)
    assert calls == []  # served from disk, the model never ran
    assert again.inspection.predictions.fused == pytest.approx(first.inspection.predictions.fused)
    assert again.explanation.verdict == first.explanation.verdict


def test_uploads_go_to_disk_and_bad_files_raise_user_errors(svc):
    up = svc.save_upload("../../etc/passwd.mp4", b"not a video at all")
    assert up.path.parent == svc.uploads and up.path.read_bytes() == b"not a video at all"
    with pytest.raises(MmvizError) as e:
        svc.analyze_file(up.path, filename=up.filename)
    assert "passwd.mp4" in str(e.value)
    with pytest.raises(MmvizError):
        svc.save_upload("empty.mp4", b"")


def test_counterfactuals_change_the_input(svc):
    clip = synthetic_features(3, svc.runner)
    base = svc.inspection(clip).predictions.fused
    cf, _ = svc.counterfactual(clip, "drop", modality="visual")
    assert cf.delta == pytest.approx(cf.fused - base)
    cf2, _ = svc.counterfactual(clip, "swap", modality="audio", other=synthetic_features(4, svc.runner))
    assert cf2.kind == "swap"
    with pytest.raises(MmvizError):
        svc.counterfactual(clip, "swap")


def test_dataset_is_scored_once_and_mapped(svc):
    ds = score_dataset(svc, "synthetic")
    assert len(ds.table) == len(ds.embeddings) > 5
    assert {"x", "y", "dominant", "conflict", "correct", "length"} <= set(ds.table.columns)
    again = score_dataset(svc, "synthetic")
    assert np.allclose(again.table["x"], ds.table["x"])
    xy = knn_place(ds.embeddings, ds.table[["x", "y"]].to_numpy(float), ds.embeddings[0])
    assert np.isfinite(xy).all()


def test_small_maps_and_slices():
    assert tsne_map(np.random.default_rng(0).normal(size=(3, 4))).shape == (3, 2)
    import pandas as pd

    t = add_slices(pd.DataFrame({"label": [1.0, -1.0], "pred_fused": [0.5, 0.5], "pred_text": [1, -1], "pred_audio": [0, 0],
                                 "pred_visual": [0, 0], "duration": [3, 7], "face_present": [1, 0]}))
    assert list(t["correct"]) == [True, False] and list(t["length"]) == ["< 4 s", "> 6 s"]
