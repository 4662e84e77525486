"""Dataset explorer and Error analysis with Streamlit's AppTest (tiny model, 8 demo clips, private cache)."""

from __future__ import annotations

import pytest

from mmviz.app import page_path
from mmviz.app_service import ui

TIMEOUT = 240


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.getbasetemp() / "ds-pages-cache"))


def page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path(name)), default_timeout=TIMEOUT)


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_explorer_shows_model_verdicts_beside_ground_truth_and_alignment():
    at = page("dataset_explorer.py")
    at.run()
    ok(at)
    table = at.dataframe[0].value
    assert {"model_dominant", "model_conflict", "planted_modality", "loudest_head"} <= set(table.columns)
    assert set(table["model_dominant"]) <= {"text", "audio", "visual", "none"}
    al = at.table[0].value  # beside the map
    assert "audio ↔ visual" in list(al.index) and {"R@1 →", "R@5 →", "cosine matched"} <= set(al.columns)
    assert any("Modalities conflict" in c.value for c in at.caption)
    ds = at.session_state[ui.DATASET]
    assert ds.root is not None and (ds.root / "verdicts-mean.csv").exists()
    assert at.radio(key="ds_select").value == "click"
    at.selectbox(key="ds_color").set_value("dominant modality (model, Shapley)").run()
    ok(at)


def test_a_saved_slice_shows_its_metrics_in_both_pages():
    at = page("dataset_explorer.py")
    at.run()
    ok(at)
    ds = at.session_state[ui.DATASET]
    from mmviz.app_service.view_extras import slice_store

    slice_store(ds).save("first three", list(ds.table["clip_id"].astype(str)[:3]))
    at.run()
    ok(at)
    # the slice-metrics table, wherever the page places it among its tables (alignment tables come first)
    shown = next(t.value for t in at.table if ("first three", "fused") in list(t.value.index))
    assert ("first three", "fused") in list(shown.index) and ("all clips", "visual") in list(shown.index)
    assert str(shown.loc[("first three", "fused"), "n"]) == "3"
    ea = page("error_analysis.py")
    ea.run()
    ok(ea)
    assert any(("first three", "text") in list(t.value.index) for t in ea.table)
    assert ea.get("plotly_chart")
