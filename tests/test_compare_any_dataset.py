"""Compare on any dataset, modality-competition diagnostics and the alignment view (AppTest, tiny models).

The dataset is not the demo set: synthetic clips with the real feature names, scored through the
library (``score_clips``) and opened as the analyst's dataset, as a folder or labelled uploads
would be. Two small checkpoints are trained for the competition section (a deep one loaded as the
app's model and a uni-modal ensemble as the reference).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmviz.app import page_path
from mmviz.app_service import ui

TIMEOUT = 240
N_CLIPS = 20


def _clips_and_labels():
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.testing.tiny import synthetic_clip

    rng = np.random.default_rng(7)
    clips, labels = [], []
    for i in range(N_CLIPS):
        y = float(rng.uniform(-3, 3))
        c = synthetic_clip(1000 + i, duration=1.0, text="really good" if y >= 0 else "quite bad",
                           audio_names=AUDIO_FEATURE_NAMES, visual_names=VISUAL_FEATURE_NAMES)
        c.audio.values[:, c.audio.names.index("rms_db")] = y / 2  # audio and smile carry the label
        c.visual.values[:, c.visual.names.index("smile")] = y / 2
        clips.append(c)
        labels.append(y)
    return clips, labels


def _train(out: Path, strategy: str) -> str:
    from mmviz.data.dataset import LabelledClip
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.testing.tiny import tiny_config
    from mmviz.training.loop import TrainSettings, train

    clips, labels = _clips_and_labels()
    data = [LabelledClip(c, y, "valid" if i % 4 == 0 else "train", {}) for i, (c, y) in enumerate(zip(clips, labels))]
    cfg = tiny_config(strategy=strategy, audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES)
    train(cfg, data, out, TrainSettings(epochs=2, batch_size=8, lr=3e-3, patience=10), progress=False, log=lambda m: None)
    return str(out)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cmp-cache")


@pytest.fixture(autouse=True)
def _env(monkeypatch, cache, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(cache))


def _view(cache: Path, spec: str, name: str = "my synthetic set", n: int = N_CLIPS, labelled: int = N_CLIPS):
    from mmviz.app_service.datasets import score_clips
    from mmviz.app_service.service import AppService

    clips, labels = _clips_and_labels()
    labels = [y if i < labelled else None for i, y in enumerate(labels)]
    return score_clips(AppService(spec, cache), name, clips[:n], labels[:n])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    return {s: _train(tmp_path_factory.mktemp(s), s) for s in ("deep", "ume")}


def page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path(name)), default_timeout=TIMEOUT)


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _compare(ds, folders: str = "", specs=("tiny", "tiny:1")):
    at = page("compare.py")
    at.session_state[ui.DATASET] = ds
    at.session_state["cmp_what"] = "Dataset"
    at.session_state["cmp_specs"] = list(specs)
    at.session_state["cmp_folders"] = folders
    at.run()
    ok(at)
    return at


# ---------------------------------------------------------------- Compare
def test_compare_on_a_non_demo_dataset_shows_flips_and_shapley_shifts(cache):
    from mmviz.data.comparison import compare_tables

    ds = _view(cache, "tiny")
    at = _compare(ds)
    assert not at.error, [e.value for e in at.error]
    memo = at.session_state["_compare_views"]
    views = {v.checkpoint_hash: v for v in memo.values()}
    assert set(views) == {"tiny-seed0", "tiny-seed1"}
    expected = compare_tables({"tiny": views["tiny-seed0"].table, "tiny:1": views["tiny-seed1"].table})
    heads = [s.value for s in at.subheader]
    assert f"Flips: tiny:1 {expected.flips['tiny:1']}" in heads
    assert any("Shapley shifts" in h for h in heads)
    frames = [d.value for d in at.dataframe]
    shift = next(f for f in frames if "mean |shift|" in f.columns)
    assert set(shift["modality"]) == {"text", "audio", "visual"} and shift["mean |shift|"].notna().all()
    assert (shift["mean |shift|"] > 0).any()  # two different random models read the clips differently
    metrics = next(f for f in frames if "flips vs baseline" in f.columns)
    assert list(metrics["checkpoint"]) == ["tiny", "tiny:1"]
    assert any("Error analysis" in c.value for c in at.caption)  # the marked place for robustness curves


def test_compare_reports_bad_checkpoints_and_an_empty_dataset_without_a_traceback(cache, tmp_path):
    import dataclasses

    from mmviz.testing.tiny import tiny_config, tiny_model
    from mmviz_models.checkpoint import save_checkpoint

    ds = _view(cache, "tiny")
    not_ckpt = tmp_path / "just-a-folder"
    not_ckpt.mkdir()
    other_names = tmp_path / "other-feature-names"
    save_checkpoint(tiny_model(tiny_config())[0], other_names)  # reads the tiny names, not the real extractor's
    at = _compare(ds, folders=f"{not_ckpt}\n{other_names}\n/no/such/folder")
    errors = " ".join(e.value for e in at.error)
    assert "just-a-folder" in errors and "other-feature-names" in errors and "/no/such/folder" in errors
    assert "feature" in errors  # the mismatch is named
    assert any(s.value.startswith("Flips: tiny:1") for s in at.subheader)  # the good ones are still compared
    at = _compare(ds, specs=("tiny",), folders=str(not_ckpt))
    assert at.error and any("two checkpoints" in i.value for i in at.info)
    empty = dataclasses.replace(ds, table=ds.table.iloc[:0])
    at = _compare(empty)
    assert any("no clips" in e.value for e in at.error)


# ---------------------------------------------------------------- competition (Error analysis)
def test_competition_section_with_a_reference_flags_by_the_rule(cache, trained, monkeypatch):
    from mmviz.data.competition import crowded_out

    monkeypatch.setenv("MMVIZ_CHECKPOINT", trained["deep"])
    ds = _view(cache, trained["deep"])
    at = page("error_analysis.py")
    at.session_state[ui.DATASET] = ds
    at.run()
    ok(at)
    at.text_input(key="comp_ref").input(trained["ume"])
    at.button(key="comp_run").click().run()
    ok(at)
    assert not at.error, [e.value for e in at.error]
    rep = at.session_state[ui.COMPETITION]
    assert rep.has_reference and rep.reference_strategy == "ume" and rep.fused_strategy == "deep" and rep.n == N_CLIPS
    assert rep.crowded_out == tuple(m for m in rep.modalities if crowded_out(
        rep.probe_fused[m]["acc2"], rep.probe_reference[m]["acc2"], rep.majority, rep.margin))
    table = next(d.value for d in at.dataframe if "probe Acc-2 (fused)" in d.value.columns)
    assert list(table["modality"]) == ["text", "audio", "visual"]
    assert list(table.loc[table["crowded out"], "modality"]) == list(rep.crowded_out)
    shown = " ".join([w.value for w in at.warning] + [s.value for s in at.success])
    assert ("Crowded out inside the fused model: " + ", ".join(rep.crowded_out)) in shown if rep.crowded_out else \
        "No modality is crowded out" in shown
    # the dataset report carries the section
    rp = page("reports.py")
    rp.session_state[ui.DATASET] = ds
    rp.session_state[ui.COMPETITION] = rep
    rp.run()
    ok(rp)
    from mmviz.report import dataset_report

    doc = dataset_report(ds.table, ds.metrics, {}, ds.source, competition=rep)
    assert "Modality competition" in doc and rep.rule.split("≥")[0] in doc


def test_competition_says_when_too_few_clips_are_labelled(cache):
    ds = _view(cache, "tiny", name="mostly unlabelled", labelled=6)
    at = page("error_analysis.py")
    at.session_state[ui.DATASET] = ds
    at.run()
    at.button(key="comp_run").click().run()
    ok(at)
    assert any("at least 10 labelled clips; this dataset has 6" in e.value for e in at.error)


# ---------------------------------------------------------------- alignment view (Dataset explorer section)
def _alignment_script():
    import streamlit as st

    from mmviz.app.app_pages.dataset_sections.alignment import alignment_section
    from mmviz.app_service import cached, ui

    alignment_section(cached.get_service(), st.session_state[ui.DATASET])


def test_alignment_view_shows_r_at_k_and_one_trace_per_modality_for_both_checkpoints(cache):
    from streamlit.testing.v1 import AppTest

    ds = _view(cache, "tiny")
    at = AppTest.from_function(_alignment_script, default_timeout=TIMEOUT)
    at.session_state[ui.DATASET] = ds
    at.run()
    ok(at)
    tables = [t.value for t in at.table]
    assert len(tables) == 1 and {"R@1 →", "R@5 →", "cosine matched", "cosine mismatched"} <= set(tables[0].columns)
    assert list(tables[0].index) == ["text ↔ audio", "text ↔ visual", "audio ↔ visual"]
    import json

    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    markers = [t for t in fig["data"] if t.get("mode") == "markers"]
    assert [t["name"] for t in markers] == ["text", "audio", "visual"]
    assert all(len(t["customdata"]) == N_CLIPS for t in markers)
    assert [t["customdata"][3][0] for t in markers] == [str(ds.table["clip_id"][3])] * 3  # a clip's points share its id
    # a second checkpoint beside it ("aligner on vs off"), same metrics
    at.text_input(key="al_other").input("tiny:1").run()
    ok(at)
    assert len(at.table) == 2 and len(at.get("plotly_chart")) == 2
    at.text_input(key="al_other").input("/no/such/checkpoint").run()
    ok(at)
    assert any("/no/such/checkpoint" in e.value for e in at.error)


def test_typed_checkpoint_folders_are_split_and_deduplicated():
    from mmviz.app_service.rescore import parse_specs

    assert parse_specs(" /a/b ,tiny:1\n\n/a/b\n c ") == ["/a/b", "tiny:1", "c"]
    assert parse_specs("") == [] and parse_specs(None) == []
