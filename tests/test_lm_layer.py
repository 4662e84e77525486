"""Our explicit decoder-layer pass (models/lm_layer.py) against transformers' own layer.

The reference is ``LlamaDecoderLayer.forward`` called the public way (hidden states, an
additive mask and the rotary (cos, sin)), no cache involved, over the joint sequence
[left-padded text; fusion tokens].
"""

from __future__ import annotations

import warnings

import pytest
import torch

from mmviz.errors import BackboneError
from mmviz.inference.batching import make_inputs
from mmviz.testing.tiny import AUDIO_NAMES, VISUAL_NAMES, synthetic_clip, tiny_model
from mmviz_models.lm_layer import LayerKV, attention_bias, check_layer, run_layer

CLIPS = (
    dict(seed=0, text="this movie was really good and I liked the actors"),
    dict(seed=1, text="no"),
    dict(seed=2, text="terrible"),
)
NEG = float("-inf")


def _joint_frame(model, x):
    """Embeddings, mask and rotary of the joint [text; fusion tokens] sequence.  (B, L+N, D) ..."""
    B, L = x.input_ids.shape
    N = model.cfg.n_fusion_tokens
    h = torch.cat([model.embed_tokens(x.input_ids), model.fusion_tokens.expand(B, N, -1)], 1)  # (B, L+N, D)
    valid = torch.cat([x.text_mask, torch.ones(B, N, dtype=torch.bool)], 1)  # (B, L+N)
    pos = (valid.long().cumsum(1) - 1).clamp_min(0)  # (B, L+N)
    return h, attention_bias(valid, L + N, h.dtype), model.rotary(h, pos), L


def _compare_with_transformers(model, x, atol: float) -> None:
    """Per layer: our joint pass, and our text pass + fusion pass on its K/V, equal the layer's own."""
    h, bias, (cos, sin), L = _joint_frame(model, x)
    assert not bool(x.text_mask.all()), "the batch should be left-padded"
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            ref = layer.lm_layer(h, attention_mask=bias, position_embeddings=(cos, sin))  # (B, L+N, D)
            joint, _ = run_layer(layer.lm_layer, h, bias, (cos, sin))
            torch.testing.assert_close(joint, ref, atol=atol, rtol=1e-5, msg=lambda m: f"layer {i}: {m}")
            text, text_kv = run_layer(layer.lm_layer, h[:, :L], bias[:, :, :L, :L], (cos[:, :L], sin[:, :L]))
            fusion, _ = run_layer(layer.lm_layer, h[:, L:], bias[:, :, L:], (cos[:, L:], sin[:, L:]), prefix=text_kv)
            torch.testing.assert_close(torch.cat([text, fusion], 1), ref, atol=atol, rtol=1e-5, msg=lambda m: f"layer {i}: {m}")
            h = ref


def test_attention_bias_is_causal_skips_left_pads_and_never_leaves_a_row_empty():
    valid = torch.tensor([[False, True, True]])
    assert attention_bias(valid, 3, torch.float32)[0, 0].tolist() == [
        [0.0, NEG, NEG],  # a pad reads only itself (its output is never used)
        [NEG, 0.0, NEG],
        [NEG, 0.0, 0.0],
    ]
    # two new positions after a prefix of two (the first a pad)
    valid = torch.tensor([[False, True, True, True]])
    assert attention_bias(valid, 2, torch.float32)[0, 0].tolist() == [
        [NEG, 0.0, 0.0, NEG],
        [NEG, 0.0, 0.0, 0.0],
    ]


def test_matches_the_transformers_layer_on_the_tiny_model():
    model, tok = tiny_model()
    x = make_inputs([synthetic_clip(**c) for c in CLIPS], tok, model.cfg)
    _compare_with_transformers(model, x, atol=1e-6)


def test_keys_are_rotated_with_the_transformers_rotary_function():
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    model, tok = tiny_model()
    x = make_inputs([synthetic_clip(**c) for c in CLIPS], tok, model.cfg)
    h, bias, (cos, sin), _ = _joint_frame(model, x)
    layer = model.layers[0].lm_layer
    attn = layer.self_attn
    with torch.no_grad():
        _, kv = run_layer(layer, h, bias, (cos, sin))
        normed = layer.input_layernorm(h)  # (B, S, D)
        B, S, _ = h.shape
        q = attn.q_proj(normed).view(B, S, -1, attn.head_dim).transpose(1, 2)
        k = attn.k_proj(normed).view(B, S, -1, attn.head_dim).transpose(1, 2)
        v = attn.v_proj(normed).view(B, S, -1, attn.head_dim).transpose(1, 2)
        _, k_ref = apply_rotary_pos_emb(q, k, cos, sin)
    assert isinstance(kv, LayerKV)
    torch.testing.assert_close(kv.keys, k_ref)
    torch.testing.assert_close(kv.values, v)


def test_a_decoder_layer_with_parts_we_do_not_run_is_refused():
    from transformers import Qwen3Config, Qwen3ForCausalLM

    lm = Qwen3ForCausalLM(Qwen3Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=8))
    with pytest.raises(BackboneError, match="q_norm"):
        check_layer(lm.model.layers[0])


# ----------------------------------------------------------------------- real SmolLM2
@pytest.fixture(scope="module")
def real_model(real_backbone):
    from mmviz_models.config import FusionConfig
    from mmviz_models.fusion import FusionModel

    cfg = FusionConfig(audio_features=AUDIO_NAMES, visual_features=VISUAL_NAMES)
    torch.manual_seed(0)
    return FusionModel(cfg, real_backbone.lm).eval(), real_backbone.tokenizer


@pytest.mark.slow
def test_matches_the_transformers_layer_on_the_real_lm(real_model):
    model, tok = real_model
    x = make_inputs([synthetic_clip(**c) for c in CLIPS], tok, model.cfg)
    _compare_with_transformers(model, x, atol=1e-4)


@pytest.mark.slow
def test_real_forward_raises_no_transformers_deprecation_warning(real_model):
    model, tok = real_model
    x = make_inputs([synthetic_clip(**c) for c in CLIPS], tok, model.cfg)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        model(x, collect=True)
    bad = [f"{w.category.__name__} {w.filename}: {w.message}" for w in caught
           if issubclass(w.category, (DeprecationWarning, FutureWarning))
           and ("transformers" in f"{w.filename} {w.message}" or "past_key_values" in str(w.message))]
    assert bad == []
