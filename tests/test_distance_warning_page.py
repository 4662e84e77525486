"""Clip review warns when a clip's input is unlike the checkpoint's training data (AppTest, tiny model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmviz.app import page_path
from mmviz.app_service import ui
from mmviz.inference.tiny import clip_for, tiny_config, tiny_model
from mmviz_models.checkpoint import save_checkpoint


@pytest.fixture()
def far_voice_checkpoint(tmp_path):
    """A tiny checkpoint whose audio statistics sit far from any real clip's voice: every real voice is 'unseen'."""
    from mmviz.inference.runner import ModelRunner

    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES

    cfg = tiny_config(branch_distance=True, audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES)
    model, tok = tiny_model(cfg)
    runner = ModelRunner(model, tok, checkpoint_hash="t", backbone_name=cfg.backbone, device=torch.device("cpu"))
    with torch.no_grad():
        o = model(runner.inputs([clip_for(runner, seed=s) for s in range(30)]))
    rng = np.random.default_rng(0)
    model.distance.fit("audio", o.emb_audio.numpy() + 50.0 + rng.normal(scale=0.1, size=o.emb_audio.shape))
    save_checkpoint(model, tmp_path / "ck")
    return tmp_path / "ck"


def test_an_unfamiliar_voice_is_named_in_a_warning_above_the_results(monkeypatch, tmp_path, small_demo_dir,
                                                                      far_voice_checkpoint):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MMVIZ_CHECKPOINT", str(far_voice_checkpoint))
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(page_path("clip_review.py")), default_timeout=180)
    at.run()
    at.button(key="open_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    res = at.session_state[ui.RESULT]
    assert res.inspection.distance["audio"] > 1.5
    warn = [w.value.replace("\\", "") for w in at.warning if "Unlike anything this model was trained on" in w.value]
    assert warn and "the voice (audio" in warn[0] and "shrunk to" in warn[0]
    # the audio head metric shows the shrunk value the warning names
    audio = next(m for m in at.metric if m.label == "Audio head")
    assert f"{res.inspection.predictions.audio:+.2f}" in audio.value
