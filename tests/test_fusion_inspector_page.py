"""Clip review's fusion-token inspector (AppTest, tiny model): per-clip charts, gates in a caption, dead tokens once a
dataset is scored."""

from __future__ import annotations

import pytest

from mmviz.app import page_path

TIMEOUT = 240


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.getbasetemp() / "app-cache-fi"))


def _page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path(name)), default_timeout=TIMEOUT)


def _open_demo():
    at = _page("clip_review.py")
    at.run()
    at.button(key="open_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_inspector_shows_per_clip_quantities_then_dead_tokens_of_the_scored_dataset():
    at = _open_demo()
    text = _captions(at)
    assert "Gates are constants of this checkpoint" in text  # stated once, not drawn as per-clip bars
    assert "How much each fusion block changed the fusion tokens on this clip" in text
    assert "No dataset has been scored with this checkpoint" in text  # says so instead of guessing
    # score the (small) demo set once, as the Dataset explorer does; the inspector then counts dead tokens over it
    ds = _page("dataset_explorer.py")
    ds.run()
    assert not ds.exception, [e.value for e in ds.exception]
    at = _open_demo()
    text = _captions(at)
    assert "Dead tokens over the 8 scored clips" in text, text
