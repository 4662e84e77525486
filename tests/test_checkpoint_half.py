"""Half-precision checkpoints: stored as float16 (half the bytes), loaded back as float32."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from mmviz.errors import CheckpointError
from mmviz.inference.batching import make_inputs
from mmviz.testing.tiny import synthetic_clip, tiny_model
from mmviz_models.checkpoint import WEIGHTS, checkpoint_hash, halve_checkpoint, load_checkpoint, save_checkpoint


def _dtypes(path) -> set[torch.dtype]:
    with safe_open(str(path / WEIGHTS), framework="pt") as f:
        return {f.get_tensor(k).dtype for k in f.keys()}


def test_half_checkpoint_is_float16_on_disk_float32_in_memory_and_predicts_nearly_the_same(tmp_path):
    model, tok = tiny_model(seed=3)
    full, half = tmp_path / "full", tmp_path / "half"
    h_full = save_checkpoint(model, full)
    h_half = save_checkpoint(model, half, half=True)
    assert h_full != h_half  # another file, another key in the results store
    assert _dtypes(full) == {torch.float32} and _dtypes(half) == {torch.float16}
    assert (half / WEIGHTS).stat().st_size < 0.6 * (full / WEIGHTS).stat().st_size
    loaded, _, h = load_checkpoint(half)
    assert h == h_half
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = make_inputs([synthetic_clip(0), synthetic_clip(1)], tok, model.cfg)
    with torch.no_grad():
        a, b = model(x).pred_fused, loaded(x).pred_fused
    assert not torch.equal(a, b)  # really rounded
    assert torch.allclose(a, b, atol=1e-2)


def test_halve_checkpoint_rewrites_in_place_and_matches_saving_half(tmp_path):
    model, _ = tiny_model(seed=4)
    save_checkpoint(model, tmp_path / "a")
    assert halve_checkpoint(tmp_path / "a") == checkpoint_hash(tmp_path / "a")  # weights and config
    save_checkpoint(model, tmp_path / "b", half=True)
    a, b = load_file(tmp_path / "a" / WEIGHTS), load_file(tmp_path / "b" / WEIGHTS)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _dtypes(tmp_path / "a") == {torch.float16}


def test_a_value_beyond_float16_is_refused_by_name(tmp_path):
    model, _ = tiny_model()
    with torch.no_grad():
        model.fusion_tokens[0, 0] = 1e6
    with pytest.raises(CheckpointError, match="fusion_tokens"):
        save_checkpoint(model, tmp_path, half=True)
