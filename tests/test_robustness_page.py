"""Error analysis: the robustness-of-each-checkpoint section (AppTest, tiny model, 8 demo clips)."""

from __future__ import annotations

import pytest

from mmviz.app import page_path
from mmviz.app_service.robustness import parse_checkpoints
from mmviz.errors import MmvizError

TIMEOUT = 300


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.getbasetemp() / "robust-page-cache"))


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory):
    """A real checkpoint folder (tiny model, another seed, late fusion) as `mmviz train` would write it."""
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.inference.tiny import tiny_config, tiny_model
    from mmviz_models.checkpoint import save_checkpoint

    out = tmp_path_factory.mktemp("late-ckpt")
    model, _ = tiny_model(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES, strategy="late"), 3)
    save_checkpoint(model, out)
    return out


def page():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path("error_analysis.py")), default_timeout=TIMEOUT)


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _chart(at):
    return next((c for c in at.get("plotly_chart") if "Robustness: fused quality" in c.proto.spec), None)


def test_loaded_and_another_checkpoint_on_one_chart(other_checkpoint):
    import json

    at = page()
    at.run()
    ok(at)
    assert _chart(at) is None  # nothing is computed before the button
    at.text_area(key="robust_extra").set_value(str(other_checkpoint))
    at.button(key="strategy_robust_btn").click().run()
    ok(at)
    chart = _chart(at)
    assert chart is not None, "no robustness chart after the button"
    names = {t["name"] for t in json.loads(chart.proto.spec)["data"] if t.get("showlegend", True)}
    assert names == {f"{n} · {m}" for n in ("loaded: tiny", other_checkpoint.name) for m in ("text", "audio", "visual")}
    at.run()  # a rerun keeps the curves without recomputing
    ok(at)
    assert _chart(at) is not None


def test_a_wrong_folder_is_a_clear_error(tmp_path):
    at = page()
    at.run()
    at.text_area(key="robust_extra").set_value(str(tmp_path / "nowhere"))
    at.button(key="strategy_robust_btn").click().run()
    ok(at)
    assert any("does not exist" in e.value for e in at.error)
    assert _chart(at) is None


def test_parse_checkpoints_names_what_is_wrong(tmp_path, other_checkpoint):
    assert parse_checkpoints(f" {other_checkpoint} ,\n\n tiny:2 ") == [str(other_checkpoint), "tiny:2"]
    assert parse_checkpoints("") == []
    (tmp_path / "empty").mkdir()
    with pytest.raises(MmvizError, match="no config.json or model.safetensors"):
        parse_checkpoints(str(tmp_path / "empty"))
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(MmvizError, match="a file, not a checkpoint folder"):
        parse_checkpoints(str(tmp_path / "f.txt"))
