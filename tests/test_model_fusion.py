"""The fusion model's structural promises, on the tiny 2-layer config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmviz.inference.batching import FeatureMismatchError, make_inputs
from mmviz.testing.tiny import synthetic_clip, tiny_config, tiny_model, tiny_runner
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs


def _with_new_av(x: FusionInputs, seed: int) -> FusionInputs:
    g = torch.Generator().manual_seed(seed)
    return FusionInputs(
        x.input_ids, x.text_mask,
        torch.randn(x.audio.shape, generator=g) * 5, x.audio_mask, x.audio_times,
        torch.randn(x.visual.shape, generator=g) * 5, x.visual_mask, x.visual_times,
    )


def test_text_states_are_bit_identical_whatever_the_audio_and_video(tiny_runner):
    clips = [synthetic_clip(0), synthetic_clip(1, text="not good at all")]
    x = tiny_runner.inputs(clips)
    a = tiny_runner.forward(x, collect=True)
    b = tiny_runner.forward(_with_new_av(x, 7), collect=True)
    assert torch.equal(a.text_states, b.text_states)
    assert torch.equal(a.emb_text, b.emb_text)
    assert torch.equal(a.pred_text, b.pred_text)
    # ...while the fused prediction does read audio/video
    assert not torch.allclose(a.pred_fused, b.pred_fused)


def test_gates_start_at_one_half(tiny_runner):
    out = tiny_runner.forward(tiny_runner.inputs([synthetic_clip(0)]))
    assert out.gates.shape == (len(tiny_runner.model.blocks), 2)
    assert torch.allclose(out.gates, torch.full_like(out.gates, 0.5))


def test_every_cross_attention_row_sums_to_one_and_ignores_padding(tiny_runner):
    clips = [synthetic_clip(0, duration=3.0), synthetic_clip(1, duration=1.5), synthetic_clip(2, visual=False)]
    out = tiny_runner.forward(tiny_runner.inputs(clips), collect=True)
    for w in out.cross_attention:  # (B, H, N, K)
        assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)
        padded = ~out.key_mask[:, None, None, :].expand_as(w)
        assert float(w[padded].abs().max()) == 0.0


def test_keys_say_which_modality_and_which_moment(tiny_runner):
    clip = synthetic_clip(0, duration=2.0)
    ins = tiny_runner.inspect([clip])[0]
    assert ins.key_modality[0] == 0 and np.isnan(ins.key_times[0])  # the null key
    audio_t = ins.key_times[ins.key_mask("audio")]
    visual_t = ins.key_times[ins.key_mask("visual")]
    np.testing.assert_allclose(audio_t, clip.audio.times)
    np.testing.assert_allclose(visual_t, clip.visual.times)
    assert ins.cross_attention.shape[-1] == 1 + clip.audio.n_steps + clip.visual.n_steps


def test_inspection_holds_states_after_every_layer_and_all_heads(tiny_runner):
    ins = tiny_runner.inspect([synthetic_clip(3)])[0]
    n_layers = len(tiny_runner.model.layers)
    assert ins.token_states.shape == (n_layers + 1, tiny_runner.cfg.n_fusion_tokens, tiny_runner.model.d_model)
    assert set(ins.embeddings) == {"text", "audio", "visual", "fused"}
    assert ins.predictions.tokens.shape == (tiny_runner.cfg.n_fusion_tokens,)
    assert "".join(ins.text_tokens).strip() == "this movie was really good"


def test_clips_without_a_modality_or_words_still_run():
    model, tok = tiny_model()
    clips = [synthetic_clip(0, visual=False), synthetic_clip(1, audio=False, visual=False, text="")]
    out = model(make_inputs(clips, tok, model.cfg), collect=True)
    assert torch.isfinite(out.pred_fused).all()
    # with nothing to read, the fusion tokens attend only to the null key
    assert torch.allclose(out.cross_attention[0][1, :, :, 0], torch.ones(1))


def test_missing_features_are_refused_by_name():
    model, tok = tiny_model()
    clip = synthetic_clip(0, audio_names=("pitch_hz", "rms_db"))
    with pytest.raises(FeatureMismatchError, match="spectral_centroid"):
        make_inputs([clip], tok, model.cfg)


def test_nan_descriptors_are_imputed_not_propagated():
    model, tok = tiny_model()
    clip = synthetic_clip(0)
    clip.visual.values[::2, 1] = np.nan  # no face on half the frames
    out = model(make_inputs([clip], tok, model.cfg))
    assert torch.isfinite(out.pred_fused).all()


def test_default_fusion_layers_are_six_in_the_upper_half():
    layers = FusionConfig().resolved_fusion_layers(30)
    assert len(layers) == 6 and min(layers) >= 15 and max(layers) == 29


def test_same_seed_same_model():
    a, tok = tiny_model(seed=3)
    b, _ = tiny_model(seed=3)
    x = make_inputs([synthetic_clip(0)], tok, a.cfg)
    assert torch.equal(a(x).pred_fused, b(x).pred_fused)


def test_config_round_trips_through_json():
    cfg = tiny_config(fusion_layers=(1,))
    assert type(cfg).from_dict(cfg.to_dict()) == cfg


def _joint_reference(model, x):
    """The textbook DeepMLF pass: LM over [text; fusion tokens] at once, blocks on fusion rows."""
    B, L = x.input_ids.shape
    N = model.cfg.n_fusion_tokens
    audio, visual = model.normalise(x.audio, "audio"), model.normalise(x.visual, "visual")
    kv, kv_mask, *_ = model.av_encoder(x, audio, visual)
    h = torch.cat([model.embed_tokens(x.input_ids), model.fusion_tokens.expand(B, N, -1)], 1)
    valid = torch.cat([x.text_mask, torch.ones(B, N, dtype=torch.bool)], 1)
    S = L + N
    allowed = (torch.ones(S, S, dtype=torch.bool).tril()[None] & valid[:, None]) | torch.eye(S, dtype=torch.bool)[None]
    mask = torch.zeros(B, 1, S, S).masked_fill(~allowed[:, None], float("-inf"))
    pos_emb = model.rotary(h, (valid.long().cumsum(1) - 1).clamp_min(0))
    for layer in model.layers:
        h = layer.lm_layer(h, attention_mask=mask, position_embeddings=pos_emb)
        if layer.block is not None:
            h = torch.cat([h[:, :L], layer.block(h[:, L:], kv, kv_mask)[0]], 1)
    fused = model.final_norm(h[:, L:]).mean(1)
    if model.cfg.fused_reads_text:
        text_n = model.final_norm(h[:, :L])
        m = x.text_mask[..., None].float()
        fused = torch.cat([fused, (text_n * m).sum(1) / m.sum(1).clamp_min(1.0)], -1)
    return model.head_fused(fused).squeeze(-1)


def test_split_text_then_fusion_pass_equals_one_joint_pass(tiny_runner):
    x = tiny_runner.inputs([synthetic_clip(0), synthetic_clip(1, text="no"), synthetic_clip(2, text="")])
    with torch.no_grad():
        split = tiny_runner.model(x).pred_fused
        joint = _joint_reference(tiny_runner.model, x)
    torch.testing.assert_close(split, joint, atol=1e-5, rtol=1e-5)


def test_a_text_prefix_can_be_reused_for_other_audio_video(tiny_runner):
    x = tiny_runner.inputs([synthetic_clip(0)])
    y = _with_new_av(x, 3)
    with torch.no_grad():
        prefix = tiny_runner.model.encode_text(x.input_ids, x.text_mask)
        reused = tiny_runner.model(y, prefix=prefix).pred_fused
        fresh = tiny_runner.model(y).pred_fused
    assert torch.equal(reused, fresh)


def test_prefixes_of_different_lengths_stack_into_one_batch(tiny_runner):
    from mmviz_models.fusion import TextPrefix

    clips = [synthetic_clip(0, text="a rather long sentence about a film"), synthetic_clip(1, text="short")]
    x = tiny_runner.inputs(clips)
    m = tiny_runner.model
    with torch.no_grad():
        singles = [m.encode_text(*[t for t in (tiny_runner.inputs([c]).input_ids, tiny_runner.inputs([c]).text_mask)]) for c in clips]
        stacked = m(x, prefix=TextPrefix.stack(singles)).pred_fused
        direct = m(x).pred_fused
    torch.testing.assert_close(stacked, direct, atol=1e-5, rtol=1e-5)


def test_fusion_states_before_the_first_block_can_be_reused():
    from mmviz_models.config import TinyBackboneConfig

    m, tok = tiny_model(tiny_config(tiny=TinyBackboneConfig(num_hidden_layers=4), fusion_layers=(1, 3)))
    x = make_inputs([synthetic_clip(0), synthetic_clip(1, text="bad")], tok, m.cfg)
    y = _with_new_av(x, 11)
    with torch.no_grad():
        pre = m.precompute_fusion(m.encode_text(x.input_ids, x.text_mask))
        fast, full = m(y, prefix=pre, collect=True), m(y, collect=True)
    torch.testing.assert_close(fast.pred_fused, full.pred_fused, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast.token_states, full.token_states, atol=1e-5, rtol=1e-5)
    assert len(fast.cross_attention) == len(full.cross_attention)


def test_the_fused_head_reads_the_text_state_directly():
    """The skip from the mean text state: with the head's weights on the fusion-token half of its
    input zeroed, the fused prediction still follows the words, and the audio/video reach it
    only through the head's shared LayerNorm statistics (a far smaller effect)."""
    cfg = tiny_config()
    assert cfg.fused_reads_text
    runner = tiny_runner(cfg)
    model = runner.model
    D = model.d_model
    first = model.head_fused[1]
    assert first.in_features == 2 * D
    with torch.no_grad():
        first.weight[:, :D] = 0.0
    a, b, c = synthetic_clip(0, text="what a wonderful film"), synthetic_clip(0, text="no"), synthetic_clip(5, text="no")
    with torch.no_grad():
        p = model(runner.inputs([a, b, c])).pred_fused
    by_words, by_av = abs(float(p[0] - p[1])), abs(float(p[1] - p[2]))
    assert by_words > 1e-3
    assert by_av < by_words / 20


def test_configs_written_before_the_text_skip_load_without_it():
    d = tiny_config().to_dict()
    del d["fused_reads_text"]
    old = FusionConfig.from_dict(d)
    assert not old.fused_reads_text
    model = tiny_runner(old).model
    assert model.head_fused[1].in_features == model.d_model


def _transformers_deprecations(caught) -> list[str]:
    """Deprecation/Future warnings that come from transformers or name its cache protocol."""
    out = []
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            continue
        text = f"{w.filename} {w.message}"
        if "transformers" in text or "past_key_values" in text:
            out.append(f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}")
    return out


def test_forward_raises_no_transformers_deprecation_warning():
    """Our calls into the frozen LM use no deprecated transformers protocol (the duck-typed
    ``past_key_values`` cache is removed in transformers 5.40)."""
    import warnings

    model, tok = tiny_model(tiny_config(fusion_layers=(1,)))
    x = make_inputs([synthetic_clip(0), synthetic_clip(1, text="no")], tok, model.cfg)
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        model(x, collect=True)
        model(x, prefix=model.precompute_fusion(model.encode_text(x.input_ids, x.text_mask)))
    assert _transformers_deprecations(caught) == []


def _new_visual_only(x: FusionInputs, seed: int) -> FusionInputs:
    g = torch.Generator().manual_seed(seed)
    return FusionInputs(x.input_ids, x.text_mask, x.audio, x.audio_mask, x.audio_times,
                        torch.randn(x.visual.shape, generator=g) * 5, x.visual_mask, x.visual_times)


def test_the_audio_head_cannot_read_the_face():
    """``branch_view="separate"`` (the default for new models): the audio embedding and head come
    from a pass where audio steps attend only to audio, so another face leaves them bit for bit
    alone — while the fused prediction, which reads the mixed sequence, still moves."""
    runner = tiny_runner(tiny_config())
    assert runner.model.cfg.branch_view == "separate"
    x = runner.inputs([synthetic_clip(0), synthetic_clip(1, duration=1.5)])
    with torch.no_grad():
        a, b = runner.model(x), runner.model(_new_visual_only(x, 3))
    assert torch.allclose(a.emb_audio, b.emb_audio, atol=1e-6)
    assert torch.allclose(a.pred_audio, b.pred_audio, atol=1e-6)
    assert not torch.allclose(a.emb_visual, b.emb_visual)
    assert not torch.allclose(a.pred_fused, b.pred_fused)


def test_mixed_branch_view_lets_the_face_into_the_audio_embedding():
    """The older design (and checkpoints written before ``branch_view``): the audio embedding is
    pooled from the mixed sequence, so it changes with the face — what the separate view fixes."""
    runner = tiny_runner(tiny_config().replace(branch_view="mixed"))
    x = runner.inputs([synthetic_clip(0)])
    with torch.no_grad():
        a, b = runner.model(x), runner.model(_new_visual_only(x, 3))
    assert not torch.allclose(a.emb_audio, b.emb_audio, atol=1e-4)


def test_configs_written_before_branch_view_load_as_mixed():
    d = tiny_config().to_dict()
    del d["branch_view"]
    assert FusionConfig.from_dict(d).branch_view == "mixed"
    with pytest.raises(ValueError, match="branch_view"):
        tiny_config().replace(branch_view="both")
