"""One key scheme and one store: the app, `mmviz score` and `mmviz explain` reuse each other's records."""

from __future__ import annotations

import json
import shutil

import pytest

from mmviz.app_service.service import AppService
from mmviz.cli import main
from mmviz.data.store import ResultsStore
from mmviz.errors import RecordError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.records.features import Word
from mmviz.records.keys import features_key, transcript_input_key
from mmviz.testing.tiny import synthetic_clip, tiny_config, tiny_runner
from mmviz_models.checkpoint import checkpoint_hash, save_checkpoint


def test_a_changed_transcript_is_a_different_inspection(tmp_path):
    import dataclasses

    store = ResultsStore(tmp_path)
    runner = tiny_runner()
    clip = synthetic_clip(1)
    other_words = dataclasses.replace(clip, words=(Word("terrible", 0.1, 0.5),))
    assert features_key(clip) != features_key(other_words)
    ins = runner.inspect([clip])[0]
    store.put_inspection(ins, clip)
    assert store.get_inspection(runner.checkpoint_hash, clip).predictions.fused == ins.predictions.fused
    assert store.get_inspection(runner.checkpoint_hash, other_words) is None  # same bytes, other words: not reused
    assert store.get_inspection("other-checkpoint", clip) is None


def test_editing_a_sidecar_changes_the_features_key(tmp_path):
    sc = tmp_path / "clip.txt"
    sc.write_text("a fine film")
    before = transcript_input_key(None, sc)
    sc.write_text("a dreadful film")
    assert transcript_input_key(None, sc) != before
    assert transcript_input_key("typed words", sc) != transcript_input_key(None, sc)  # typed text wins, as in extraction
    assert transcript_input_key(None, None, asr=True) == "asr"


def test_the_checkpoint_hash_covers_its_config(tmp_path):
    runner = tiny_runner()
    save_checkpoint(runner.model, tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    cfg["max_text_tokens"] = int(cfg.get("max_text_tokens", 64)) + 1  # same weights, another config
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    assert checkpoint_hash(tmp_path / "a") != checkpoint_hash(tmp_path / "b")


@pytest.fixture(scope="module")
def real_feature_checkpoint(tmp_path_factory):
    """A tiny model that reads the real extractor's feature names, saved as a checkpoint folder."""
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES

    d = tmp_path_factory.mktemp("ckpt")
    runner = tiny_runner(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES))
    save_checkpoint(runner.model, d)
    return d


def _no_recomputation(monkeypatch, svc):
    import mmviz.data.scoring as scoring
    import mmviz.features.extract as extract

    def fail(*a, **k):
        raise AssertionError("recomputed although the store had it")

    monkeypatch.setattr(extract, "extract_features", fail)
    monkeypatch.setattr(svc.runner, "inspect", fail)
    import mmviz.explain as explain_pkg

    monkeypatch.setattr(explain_pkg, "explain_clip", fail)
    return scoring


@pytest.mark.slow
def test_the_app_opens_a_clip_that_mmviz_score_scored_without_recomputing(tmp_path, small_demo_dir, real_feature_checkpoint,
                                                                           monkeypatch, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("demo000", "demo001"):
        for ext in (".mp4", ".txt"):
            shutil.copy(small_demo_dir / f"{name}{ext}", folder / f"{name}{ext}")
    cache = tmp_path / "cache"
    assert main(["score", str(folder), "--checkpoint", str(real_feature_checkpoint), "--store", str(cache / "results"),
                 "--explain"]) == 0
    assert "scored 2 of 2 clips" in capsys.readouterr().out

    svc = AppService(str(real_feature_checkpoint), cache)  # the dashboard on the same cache
    _no_recomputation(monkeypatch, svc)
    clip = folder / "demo001.mp4"
    # an analyst uploads the same file with its transcript file: everything comes from the store
    res = svc.analyze_file(clip, filename="demo001.mp4", sidecar=folder / "demo001.txt")
    assert res.features.transcript_source == "sidecar" and res.explanation.shapley is not None
    # and the Dataset explorer's way in (a table row with the file's path) finds the same records
    from mmviz.app_service.datasets import dataset_features

    import pandas as pd

    feats = dataset_features(svc, pd.Series({"clip_id": "demo001", "path": str(clip), "content_hash": res.features.content_hash}))
    assert svc.analyze(feats, media_path=str(clip)).key == res.key


@pytest.mark.slow
def test_an_explain_out_record_opens_in_the_dashboard_and_becomes_a_report(tmp_path, small_demo_dir, real_feature_checkpoint,
                                                                            capsys):
    from mmviz import figures as F

    rec, html = tmp_path / "saved" / "demo002", tmp_path / "demo002.html"
    rec.parent.mkdir()
    assert main(["explain", str(small_demo_dir / "demo002.mp4"), "--checkpoint", str(real_feature_checkpoint), "--steps", "4",
                 "--store", str(tmp_path / "cli-store"), "--out", str(rec)]) == 0
    assert "open it in the dashboard" in capsys.readouterr().out

    svc = AppService(str(real_feature_checkpoint), tmp_path / "another-server")  # knows nothing of that clip
    files = [(p.name, p.read_bytes()) for p in rec.parent.iterdir()]
    res = svc.open_uploaded_record(files)
    assert isinstance(res, ClipAnalysis) and res.features.clip_id == "demo002.mp4"
    assert F.timeline(res.features, res.explanation).data and F.contribution_bars(res.explanation).data
    with pytest.raises(RecordError, match="its .json file and its .npz"):
        svc.open_uploaded_record([f for f in files if f[0].endswith(".npz")])

    assert main(["report", str(rec) + ".json", "--out", str(html)]) == 0
    doc = html.read_text()
    assert "demo002" in doc and "Modality contributions" in doc
