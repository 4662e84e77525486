"""The dashboard's service layer, without Streamlit: caching, uploads, fallback explanations."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.app_service.datasets import add_slices, score_clips, score_dataset
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.explain.record import Explanation
from mmviz.testing.tiny import clip_for


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return AppService("tiny", tmp_path_factory.mktemp("cache"))


def test_the_page_gets_the_explainers_own_records_and_they_add_up(svc):
    res = svc.analyze(clip_for(svc.runner, 1))
    ex = res.explanation
    assert isinstance(res, ClipAnalysis) and isinstance(ex, Explanation)  # no flattened copy in between
    # exact Shapley over 3 players: contributions add up to full − base
    sh = ex.shapley
    assert sum(sh.values.values()) == pytest.approx(sh.full - sh.base, abs=1e-5)
    assert ex.verdict.kind in ("dominant", "complementary", "conflicting") and ex.integrated_gradients is not None
    assert {t.modality for t in ex.time_attributions} == {"audio", "visual"}
    assert all(len(ex.attention.curve(m)[0]) for m in ("audio", "visual"))
    assert len(ex.word_attributions.scores) == len(ex.word_attributions.words) == len(res.features.words)


def test_results_are_cached_on_disk(svc, monkeypatch):
    clip = clip_for(svc.runner, 2)
    first = svc.analyze(clip)
    fresh = AppService("tiny", svc.cache)  # a second server process / user
    calls = []
    monkeypatch.setattr(fresh.runner, "inspect", lambda *a, **k: calls.append(1) or [])
    again = fresh.analyze(clip)
    assert calls == []  # served from disk, the model never ran
    assert again.inspection.predictions.fused == pytest.approx(first.inspection.predictions.fused)
    assert again.explanation.verdict == first.explanation.verdict
    assert again.key == first.key


def test_uploads_go_to_disk_and_bad_files_raise_user_errors(svc):
    up = svc.save_upload("../../etc/passwd.mp4", b"not a video at all")
    assert up.path.parent == svc.uploads and up.path.read_bytes() == b"not a video at all"
    with pytest.raises(MmvizError) as e:
        svc.analyze_file(up.path, filename=up.filename)
    assert "passwd.mp4" in str(e.value)
    with pytest.raises(MmvizError):
        svc.save_upload("empty.mp4", b"")


def test_counterfactuals_change_the_input(svc):
    clip = clip_for(svc.runner, 3)
    base = svc.inspection(clip).predictions.fused
    cf, _ = svc.counterfactual(clip, "drop", modality="visual")
    assert cf.delta == pytest.approx(cf.fused - base)
    cf2, _ = svc.counterfactual(clip, "swap", modality="audio", other=clip_for(svc.runner, 4))
    assert cf2.kind == "swap"
    with pytest.raises(MmvizError):
        svc.counterfactual(clip, "swap")


def test_dataset_is_scored_once_mapped_and_new_clips_are_placed(svc):
    clips = [clip_for(svc.runner, 50 + i, text=("good fun" if i % 2 else "dull and slow")) for i in range(12)]
    ds = score_clips(svc, "unit-set", clips, labels=[1.0 if i % 2 else -1.0 for i in range(12)])
    assert len(ds.table) == len(ds.embeddings["fused"]) == 12
    assert {"x_fused", "y_fused", "x_audio", "loudest_head", "heads_disagree", "correct", "length"} <= set(ds.table.columns)
    assert "planted_modality" not in ds.table  # no planted answers for these clips, so no such column
    assert set(ds.spaces) == {"fused", "text", "audio", "visual"}
    again = score_clips(svc, "unit-set", clips)  # from disk: the same map, not a refit
    assert np.allclose(again.table["x_fused"], ds.table["x_fused"])
    new = svc.inspection(clip_for(svc.runner, 99))
    xy = again.place(new, "fused")
    assert xy is not None and np.isfinite(xy).all()


def test_a_folder_of_clips_is_scored_with_the_real_pipeline(svc, small_demo_dir):
    ds = score_dataset(svc, str(small_demo_dir))
    assert len(ds.table) == 8 and ds.table["label"].notna().all()
    assert ds.maps is not None and ds.maps["fused"].n == 8
    with pytest.raises(MmvizError, match="not a folder"):
        score_dataset(svc, str(small_demo_dir / "nope"))


def test_too_few_clips_get_no_map_but_still_a_table(svc):
    ds = score_clips(svc, "three", [clip_for(svc.runner, i) for i in range(3)])
    assert ds.maps is None and ds.table["x_fused"].isna().all() and len(ds.table) == 3


def test_slices():
    import pandas as pd

    t = add_slices(pd.DataFrame({"label": [1.0, -1.0], "pred_fused": [0.5, 0.5], "pred_text": [1, -1], "pred_audio": [0, 0],
                                 "pred_visual": [0, 0], "duration": [3, 7], "face_present": [1, 0]}))
    assert list(t["correct"]) == [True, False] and list(t["length"]) == ["< 4 s", "> 6 s"]


def test_the_server_warms_the_model_up_in_the_background_without_caching_anything(tmp_path):
    svc = AppService("tiny", tmp_path)
    t = svc.start_warm_up()
    t.join(timeout=120)
    assert not t.is_alive()
    assert svc.warm_up() > 0  # the same work, timed, in the foreground
    assert not (svc.store.root / "explanations").exists() and not (svc.store.root / "inspections").exists()
    res = svc.analyze(clip_for(svc.runner, 3))  # the lock was released: requests still run
    assert res.explanation.shapley is not None
