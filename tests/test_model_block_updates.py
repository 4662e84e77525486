"""The fusion block records how much it changed each fusion token, per clip (what the gates cannot say)."""

from __future__ import annotations

import numpy as np
import torch

from mmviz.testing.tiny import synthetic_clip
from mmviz_models.fusion import FusionBlock


def _block(seed: int = 0) -> FusionBlock:
    torch.manual_seed(seed)
    return FusionBlock(d_model=16, d_av=8, heads=2, ff_mult=2, dropout=0.0).eval()


def test_update_size_is_the_gated_branch_over_the_residual():
    b = _block()
    with torch.no_grad():  # zero feed-forward: the whole change of the states is the cross-attention branch
        b.ff[-1].weight.zero_()
        b.ff[-1].bias.zero_()
    f = torch.randn(3, 4, 16)
    kv = torch.randn(3, 5, 8)
    mask = torch.ones(3, 5, dtype=torch.bool)
    with torch.no_grad():
        out, w, u = b(f, kv, mask)
    assert u.shape == (3, 4, 2) and w.shape == (3, 2, 4, 5)
    expected = (out - f).norm(dim=-1) / f.norm(dim=-1)  # (B, N)
    torch.testing.assert_close(u[..., 0], expected)
    assert float(u[..., 1].abs().max()) == 0.0


def test_update_size_follows_the_gate_and_the_input():
    b = _block()
    f = torch.randn(1, 4, 16)
    kv = torch.randn(1, 5, 8)
    mask = torch.ones(1, 5, dtype=torch.bool)
    with torch.no_grad():
        _, _, u_half = b(f, kv, mask)  # gate 0.5
        b.gate_attn.fill_(float(np.log(0.1 / 0.9)))  # gate 0.1: a fifth of the update
        _, _, u_tenth = b(f, kv, mask)
        _, _, u_other = b(f, kv * 3 + 1, mask)  # same gate, another clip
    torch.testing.assert_close(u_tenth[..., 0], u_half[..., 0] * 0.2)
    assert not torch.allclose(u_other[..., 0], u_tenth[..., 0])


def test_inspection_carries_the_models_block_updates(tiny_runner):
    ins = tiny_runner.inspect([synthetic_clip(0), synthetic_clip(1, visual=False)])
    n_blocks, n = ins[0].n_blocks, ins[0].n_tokens
    for i in ins:
        assert i.block_updates.shape == (n_blocks, n, 2)
        assert np.isfinite(i.block_updates).all() and (i.block_updates > 0).all()
    np.testing.assert_array_equal(ins[0].gates, ins[1].gates)  # gates: the same for every clip
    assert not np.allclose(ins[0].block_updates, ins[1].block_updates)  # update sizes: per clip
    # the model output without ``collect`` stays as lean as before
    out = tiny_runner.forward(tiny_runner.inputs([synthetic_clip(0)]))
    assert out.block_updates is None


def test_precomputed_prefix_gives_the_same_updates(tiny_runner):
    m = tiny_runner.model
    x = tiny_runner.inputs([synthetic_clip(0)])
    with torch.no_grad():
        a = m(x, collect=True)
        pre = m.precompute_fusion(m.encode_text(x.input_ids, x.text_mask))
        b = m(x, collect=True, prefix=pre)
    torch.testing.assert_close(a.block_updates, b.block_updates)


def test_inspections_saved_before_block_updates_still_load(tiny_runner, tmp_path):
    import json

    from mmviz.records.serialize import load_record, save_record

    ins = tiny_runner.inspect([synthetic_clip(0)])[0]
    path = save_record(ins, tmp_path / "old")
    doc = json.loads(path.read_text())
    doc["record"].pop("block_updates")
    path.write_text(json.dumps(doc))
    back = load_record(tmp_path / "old")
    assert back.block_updates is None and back.clip_id == ins.clip_id
