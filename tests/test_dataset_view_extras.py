"""What the dataset pages show beside the table: verdicts (cached), slices, similar clips, alignment, the shipped view."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmviz.app_service import view_extras as vx
from mmviz.app_service.datasets import score_clips, score_dataset
from mmviz.app_service.service import AppService
from mmviz.data.slices import SliceError, SliceStore, slice_metrics
from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import modality_alignment
from mmviz.explain.neighbours import nearest
from mmviz.testing.tiny import clip_for


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return AppService("tiny", tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def ds(svc):
    clips = [clip_for(svc.runner, 30 + i, text=("lovely stuff" if i % 2 else "awful mess")) for i in range(10)]
    return score_clips(svc, "extras-set", clips, labels=[1.5 if i % 2 else -1.0 for i in range(10)])


def _boom(*a, **k):
    raise AssertionError("the model was called")


def test_verdicts_are_computed_once_and_then_read_from_the_view_folder(svc, ds, monkeypatch):
    v = vx.with_verdicts(svc, ds)
    t = v.table
    assert {"shap_text", "shap_audio", "shap_visual", "model_dominant", "model_conflict"} <= set(t.columns)
    assert set(t["model_dominant"]) <= {"text", "audio", "visual", "none"}
    assert (ds.root / "verdicts-mean.csv").exists()
    monkeypatch.setattr(vx, "dataset_verdicts", _boom)
    again = vx.with_verdicts(svc, ds)  # from disk: no model call
    np.testing.assert_allclose(again.table["shap_text"], t["shap_text"])
    assert list(again.table["model_dominant"]) == list(t["model_dominant"])


def test_slices_persist_atomically_and_their_metrics_are_right(tmp_path):
    store = SliceStore(tmp_path)
    store.save("  loud   ones ", ["a", "b"])
    store.save("loud ones", ["c", "a"], add=True)  # tagging adds, keeps order, no duplicates
    assert SliceStore(tmp_path).load() == {"loud ones": ["a", "b", "c"]}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(SliceError, match="name"):
        store.save("  ", ["a"])
    with pytest.raises(SliceError, match="No clips"):
        store.save("x", [])
    t = pd.DataFrame({"clip_id": list("abcd"), "label": [1.0, -1.0, 2.0, np.nan], "pred_fused": [0.5, 0.5, 1.0, 0.0],
                      "pred_text": [1.0, -1.0, 3.0, 0.0], "pred_audio": [0.0] * 4, "pred_visual": [-1.0] * 4})
    m = slice_metrics(t, {"s": ["a", "b", "gone"]}).set_index(["slice", "head"])
    assert m.loc[("s", "fused"), "n"] == 2 and m.loc[("s", "fused"), "Acc-2"] == 0.5
    assert m.loc[("s", "fused"), "MAE"] == pytest.approx(1.0) and m.loc[("s", "fused"), "n_missing"] == 1
    assert m.loc[("s", "text"), "Acc-2"] == 1.0 and np.isnan(m.loc[("s", "audio"), "r"])
    assert m.loc[("all clips", "text"), "r"] == pytest.approx(np.corrcoef([1, -1, 3], [1, -1, 2])[0, 1])
    store.delete("loud ones")
    assert store.load() == {}


def test_similar_clips_are_the_nearest_by_cosine(ds):
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    rows, dist = nearest(x, 0, k=2)
    assert list(rows) == [1, 2] and dist[0] < dist[1] and dist[1] == pytest.approx(1.0)
    with pytest.raises(MmvizError):
        nearest(x, 7)
    near = vx.similar_clips(ds, 3, "audio", k=4)
    assert len(near) == 4 and 3 not in list(near["row"]) and near["distance"].is_monotonic_increasing


def test_alignment_table_reports_the_librarys_numbers(ds):
    al = vx.alignment_table(ds)
    assert list(al["pair"]) == ["audio ↔ visual", "text ↔ fused", "text ↔ audio", "text ↔ visual"]
    ref = modality_alignment(ds.embeddings["audio"], ds.embeddings["visual"], names=("audio", "visual"))
    row = al.iloc[0]
    assert row["cosine matched"] == pytest.approx(ref.mean_cosine) and row["R@1 →"] == pytest.approx(ref.r_at_1_a_to_b)
    assert vx.alignment_table(ds) is al  # memoised on the view


def test_the_shipped_demo_view_is_used_only_for_its_checkpoint(tmp_path, monkeypatch, small_demo_dir):
    from mmviz.app_service import demo_view

    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    maker = AppService("tiny", tmp_path / "maker")
    out = demo_view.export_demo_view(maker, tmp_path / "shipped")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["checkpoint_hash"] == maker.runner.checkpoint_hash and meta["clips"] == 8
    assert all(f.suffix in (".csv", ".json", ".npz") for f in out.iterdir())
    assert not pd.read_csv(out / "table.csv")["path"].str.startswith("/").any()  # relative to the demo folder
    monkeypatch.setattr(demo_view, "shipped_dir", lambda: out)
    other = AppService("tiny:1", tmp_path / "other")  # another checkpoint: scored as usual, not the shipped view
    assert score_dataset(other, "demo").table["pred_fused"].tolist() != pd.read_csv(out / "table.csv")["pred_fused"].tolist()
    fresh = AppService("tiny", tmp_path / "fresh")  # a new server: first visit, same checkpoint
    import mmviz.data.scoring as scoring

    monkeypatch.setattr(scoring, "score_folder", _boom)
    monkeypatch.setattr(fresh.runner, "inspect", _boom)
    monkeypatch.setattr(vx, "dataset_verdicts", _boom)
    v = vx.with_verdicts(fresh, score_dataset(fresh, "demo"))
    assert len(v.table) == 8 and "model_dominant" in v.table and v.maps is not None
    assert all((small_demo_dir / p).exists() or p.startswith(str(small_demo_dir)) for p in v.table["path"])
    assert v.table["path"].iloc[0].startswith(str(small_demo_dir))


def test_first_visit_with_the_default_checkpoint_uses_the_shipped_view_without_the_model(tmp_path, monkeypatch):
    """The committed models/default/demo_view matches the committed checkpoint and demo clips, and opening the
    demo set with that checkpoint's hash reads it: no scoring, no forward pass, no Shapley."""
    import types

    import mmviz.data.scoring as scoring
    from mmviz.app_service import demo_view
    from mmviz.inference.runner import DEFAULT_CHECKPOINT
    from mmviz_models.checkpoint import checkpoint_hash

    monkeypatch.delenv("MMVIZ_DEMO_DIR", raising=False)
    meta = json.loads((demo_view.shipped_dir() / "meta.json").read_text())
    default_hash = checkpoint_hash(DEFAULT_CHECKPOINT)
    assert meta["checkpoint_hash"] == default_hash, "regenerate it: `mmviz demo-view` (see README)"
    assert meta["demo_fingerprint"] == demo_view.demo_fingerprint()
    assert meta["features_key"] == demo_view.extraction_key(), "the feature extractor changed: regenerate it (`mmviz demo-view`)"
    assert sum(f.stat().st_size for f in demo_view.shipped_dir().iterdir()) < 1_000_000
    svc = AppService("tiny", tmp_path / "cache")
    runner = types.SimpleNamespace(checkpoint_hash=default_hash, inspect=_boom, model=None, lock=None)
    monkeypatch.setattr(scoring, "score_folder", _boom)
    monkeypatch.setattr(vx, "dataset_verdicts", _boom)
    v = vx.with_verdicts(svc, score_dataset(svc, "demo", runner=runner), runner=runner)
    assert len(v.table) == 48 and v.checkpoint_hash == default_hash and set(v.spaces) >= {"fused", "text"}
    assert set(v.table["model_dominant"]) <= {"text", "audio", "visual", "none"}
    from mmviz.demo import default_demo_dir

    assert all(str(p).startswith(str(default_demo_dir())) for p in v.table["path"])
