"""The shipped default checkpoint can be rebuilt with one command (small size here, in CI)."""

from __future__ import annotations

import json

import pytest

from mmviz.cli import main

pytestmark = pytest.mark.slow


def test_build_default_small_writes_a_loadable_checkpoint_and_model_card(tmp_path, shared_dir):
    out, work = tmp_path / "default", tmp_path / "work"
    code = main(["build-default", "--size", "small", "--out", str(out), "--work", str(work), "--shared-dir", str(shared_dir)])
    assert code == 0
    card = json.loads((out / "evaluation.json").read_text())
    assert {"model: fused head", "model: text head"} <= set(card["heldout"])
    assert any(k.startswith("baseline") for k in card["heldout"])
    assert card["mosi_dev_text_path"]["n"] > 0  # the text path is scored on real human labels
    text = (out / "MODEL_CARD.md").read_text()
    assert card["checkpoint_hash"] in text and "mmviz build-default" in text

    from mmviz_models.checkpoint import load_checkpoint

    model, _, h = load_checkpoint(out)
    assert h == card["checkpoint_hash"]
    assert model.cfg.audio_features and model.cfg.visual_features  # trained on the pipeline's named descriptors
