"""Checkpoints hold only trained parameters, round-trip exactly, and refuse a mismatch clearly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from mmviz.errors import CheckpointError
from mmviz.inference.batching import make_inputs
from mmviz.testing.tiny import synthetic_clip, tiny_config, tiny_model
from mmviz_models.checkpoint import load_checkpoint, save_checkpoint


def test_save_then_load_gives_identical_outputs(tmp_path):
    model, tok = tiny_model(seed=5)
    with torch.no_grad():
        model.blocks[0].gate_attn.fill_(1.3)  # something a fresh model would not have
    h = save_checkpoint(model, tmp_path)
    loaded, _, h2 = load_checkpoint(tmp_path)
    assert h == h2
    x = make_inputs([synthetic_clip(0), synthetic_clip(1)], tok, model.cfg)
    a, b = model(x, collect=True), loaded(x, collect=True)
    assert torch.equal(a.pred_fused, b.pred_fused)
    assert all(torch.equal(p, q) for p, q in zip(a.cross_attention, b.cross_attention))


def test_checkpoint_holds_only_trained_parameters_and_a_json_config(tmp_path):
    model, _ = tiny_model()
    save_checkpoint(model, tmp_path)
    names = set(load_file(tmp_path / "model.safetensors"))
    assert names and not any(n.startswith(("embed_tokens", "final_norm", "lm_head")) for n in names)
    assert not any(".lm_layer." in n for n in names)
    assert "fusion_tokens" in names
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["n_fusion_tokens"] == 4 and cfg["audio_features"]


def test_mismatched_checkpoint_says_what_differs(tmp_path):
    model, _ = tiny_model(tiny_config(n_fusion_tokens=4))
    save_checkpoint(model, tmp_path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path, config=tiny_config(n_fusion_tokens=6))
    msg = str(err.value)
    assert "fusion_tokens" in msg and "(4, 32)" in msg and "(6, 32)" in msg


def test_checkpoint_for_other_features_is_refused(tmp_path):
    model, _ = tiny_model()
    save_checkpoint(model, tmp_path)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_checkpoint(tmp_path, config=tiny_config(audio_features=("a", "b")))


def test_missing_or_damaged_checkpoint_gets_a_clear_message(tmp_path):
    with pytest.raises(CheckpointError, match="not an mmviz checkpoint|No model.safetensors"):
        load_checkpoint(tmp_path)
    model, _ = tiny_model()
    save_checkpoint(model, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x80\x04 not safetensors at all")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(tmp_path)
