"""Checkpoints of every fusion strategy open in every page and in the HTML report (AppTest, tiny model).

Why AppTest and not a browser: what is checked is page logic (no exception, the "no fusion
tokens" message instead of a failing chart), which AppTest sees without Chromium. One tiny
checkpoint per strategy is trained for a few steps on generated clips; the pages run on the
committed demo clips (the small demo set) with that checkpoint.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.app import page_path
from mmviz.app_service import ui

TIMEOUT = 300
PAGES = ("clip_review.py", "dataset_explorer.py", "error_analysis.py", "compare.py", "notes.py", "reports.py")


def _train(out, strategy: str, **changes) -> str:
    from mmviz.data.dataset import LabelledClip
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.testing.tiny import synthetic_clip, tiny_config
    from mmviz.training.loop import TrainSettings, train

    rng = np.random.default_rng(0)
    data = []
    for i in range(16):  # the names the demo clips' features have, as the "tiny" checkpoint of the app reads
        c = synthetic_clip(i, duration=1.0, text="fine", audio_names=AUDIO_FEATURE_NAMES, visual_names=VISUAL_FEATURE_NAMES)
        data.append(LabelledClip(c, float(rng.uniform(-3, 3)), "valid" if i % 4 == 0 else "train", {}))
    cfg = tiny_config(strategy=strategy, audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES, **changes)
    train(cfg, data, out, TrainSettings(epochs=1, batch_size=8, max_steps=1),
          progress=False, log=lambda m: None)
    return str(out)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("strategy-ckpts")
    return {s: _train(root / s, s, **({"ume_weights": "learned"} if s == "ume" else {})) for s in ("late", "early", "ume")}


@pytest.fixture
def use_checkpoint(monkeypatch, tmp_path_factory, small_demo_dir, checkpoints):
    def use(strategy: str) -> None:
        monkeypatch.setenv("MMVIZ_CHECKPOINT", checkpoints[strategy])
        monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
        monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.getbasetemp() / f"app-cache-{strategy}"))

    return use


def _page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path(name)), default_timeout=TIMEOUT)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _texts(at) -> str:
    return "\n".join([i.value for i in at.info] + [c.value for c in at.caption] + [m.value for m in at.markdown])


@pytest.mark.parametrize("strategy", ["late", "early", "ume"])
def test_clip_review_says_there_are_no_fusion_tokens_and_explains_the_rest(use_checkpoint, strategy):
    use_checkpoint(strategy)
    at = _page("clip_review.py")
    at.run()
    _ok(at)
    at.button(key="open_demo").click().run()
    _ok(at)
    res = at.session_state[ui.RESULT]
    assert res.inspection.strategy == strategy and not res.inspection.has_fusion_tokens
    assert res.explanation.shapley is not None  # explainers only call the model: they work unchanged
    said = [i.value for i in at.info if "has no fusion tokens" in i.value]
    assert len(said) == 2 and "uni-modal ensemble" in said[0] if strategy == "ume" else len(said) == 2, said  # attention + inspector
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Fused", "Text head", "Audio head", "Visual head"]


def test_every_page_and_the_report_open_a_late_fusion_checkpoint(use_checkpoint):
    from mmviz.report import clip_report

    use_checkpoint("late")
    at = _page("clip_review.py")
    at.run()
    at.button(key="open_demo").click().run()
    _ok(at)
    res = at.session_state[ui.RESULT]
    doc = clip_report(res, {"checkpoint": "late"})
    assert "late fusion" in doc and "has no fusion tokens" in doc
    for name in PAGES[1:]:
        p = _page(name)
        p.session_state[ui.RESULT] = res  # the clip opened in Clip review, as navigation keeps it
        p.run()
        _ok(p)
        if name == "compare.py":  # the clip under two checkpoints: the late one says why it has no attention
            assert "has no fusion tokens" in _texts(p)
