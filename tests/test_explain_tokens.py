"""Fusion-token diagnostics and the dead-token rule, on hand-built inspections and the tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.errors import MmvizError
from mmviz.explain.tokens import DeadTokenReport, TokenDiagnostics, dead_tokens, token_diagnostics
from mmviz.inference.record import Inspection, Predictions
from mmviz.records.serialize import load_record, records_equal, save_record

NULL, AUDIO, VISUAL = 0, 1, 2
KMOD = np.array([NULL, AUDIO, AUDIO, VISUAL, VISUAL], dtype=np.int8)
KTIMES = np.array([np.nan, 0.5, 1.5, 0.0, 1.0])


def make_inspection(att, states, *, gates=None, clip_id="hand", checkpoint="ckpt") -> Inspection:
    att = np.asarray(att, dtype=np.float32)
    nb, _, n, _ = att.shape
    gates = np.full((nb, 2), 0.5, dtype=np.float32) if gates is None else np.asarray(gates, dtype=np.float32)
    return Inspection(
        clip_id=clip_id, content_hash="h-" + clip_id, checkpoint_hash=checkpoint, backbone="hand",
        predictions=Predictions(0.0, 0.0, 0.0, 0.0, np.zeros(n, np.float32)),
        cross_attention=att, key_modality=KMOD, key_times=KTIMES, block_layers=tuple(range(nb)), gates=gates,
        token_states=np.asarray(states, dtype=np.float32),
        embeddings={"text": np.ones(4, np.float32), "audio": np.ones(2, np.float32), "visual": np.ones(2, np.float32),
                    "fused": np.ones(4, np.float32)},
        text_tokens=("a",), input_sizes={}, device="cpu", timings={}, created="", mmviz_version="test",
    )


def four_token_clip(clip_id: str, token3_av: float, rng_seed: int) -> Inspection:
    """2 blocks, 2 heads, 4 tokens, 3 layers:

    token 0: all attention on the null key, state identical in every layer (dead and frozen);
    token 1: reads audio in block 0 and video in block 1 (used);
    token 2: all attention on the null key, but its state changes (the LM layers): dead, not frozen;
    token 3: ``token3_av`` of its attention on audio in block 1 head 0 (0 elsewhere).
    """
    att = np.zeros((2, 2, 4, len(KMOD)), dtype=np.float32)
    att[:, :, 0, 0] = 1.0
    att[0, :, 1, 1] = 1.0
    att[1, :, 1, 3] = 1.0
    att[:, :, 2, 0] = 1.0
    att[:, :, 3, 0] = 1.0
    att[1, 0, 3, 0] = 1.0 - 2 * token3_av  # head 0 of block 1; the mean over 2 heads gives token3_av
    att[1, 0, 3, 2] = 2 * token3_av
    rng = np.random.default_rng(rng_seed)
    states = rng.normal(size=(3, 4, 6)).astype(np.float32)
    states[:, 0] = np.array([3.0, 4.0, 0, 0, 0, 0])  # norm 5 in every layer
    return make_inspection(att, states, clip_id=clip_id, gates=[[0.2, 0.9], [0.7, 0.1]])


def test_token_diagnostics_known_values():
    d = token_diagnostics(four_token_clip("c0", token3_av=0.1, rng_seed=0))
    assert isinstance(d, TokenDiagnostics)
    assert d.modality_names == ("null", "audio", "visual")
    np.testing.assert_allclose(d.gates, [[0.2, 0.9], [0.7, 0.1]])
    assert d.gate_names == ("cross_attention", "feed_forward")
    # shares per block: token 1 is all audio in block 0, all visual in block 1
    np.testing.assert_allclose(d.attention_share[0, 1], [0, 1, 0])
    np.testing.assert_allclose(d.attention_share[1, 1], [0, 0, 1])
    np.testing.assert_allclose(d.attention_share_overall[1], [0, 0.5, 0.5])
    np.testing.assert_allclose(d.attention_share[1, 3], [0.9, 0.1, 0], atol=1e-6)
    np.testing.assert_allclose(d.attention_share.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(d.av_share, [0, 1, 0, 0.1], atol=1e-6)
    # norms and state change
    np.testing.assert_allclose(d.norms[:, 0], [5, 5, 5])
    assert d.norms.shape == (3, 4)
    assert d.state_change[0] == 0.0 and (d.state_change[1:] > 0).all()
    # similarity: symmetric, unit diagonal
    np.testing.assert_allclose(d.similarity, d.similarity.T, atol=1e-6)
    np.testing.assert_allclose(np.diag(d.similarity), 1.0)


def test_similarity_of_copies_and_orthogonal_tokens():
    att = np.zeros((1, 1, 3, len(KMOD)), dtype=np.float32)
    att[..., 0] = 1.0
    states = np.zeros((2, 3, 2), dtype=np.float32)
    states[-1] = [[1, 0], [2, 0], [0, 1]]  # token 1 is a scaled copy of token 0; token 2 is orthogonal
    d = token_diagnostics(make_inspection(att, states))
    np.testing.assert_allclose(d.similarity, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-6)


def test_dead_tokens_rule():
    clips = [four_token_clip("c0", token3_av=0.0, rng_seed=0), four_token_clip("c1", token3_av=0.1, rng_seed=1)]
    rep = dead_tokens(clips, threshold=0.05)
    assert isinstance(rep, DeadTokenReport)
    assert rep.n_clips == 2 and rep.clip_ids == ("c0", "c1")
    # null-only attention and a state that never changes: dead (and frozen)
    assert rep.dead[0] and rep.frozen[0]
    # reads audio/video: used in both clips
    assert not rep.dead[1] and rep.used_in[1] == 2
    # null-only attention but a changing state (text through the LM): still dead, not frozen
    assert rep.dead[2] and not rep.frozen[2]
    # used in one clip is enough
    assert not rep.dead[3] and rep.used_in[3] == 1
    assert rep.dead_tokens == (0, 2)
    np.testing.assert_allclose(rep.av_share_max, [0, 1, 0, 0.1], atol=1e-6)
    assert "0.05" in rep.rule and "2 clips" in rep.rule
    # a stricter threshold kills token 3 too
    assert dead_tokens(clips, threshold=0.2).dead_tokens == (0, 2, 3)


def test_dead_token_report_round_trips(tmp_path):
    rep = dead_tokens([four_token_clip("c0", 0.1, 0)])
    save_record(rep, tmp_path / "dead")
    back = load_record(tmp_path / "dead")
    assert isinstance(back, DeadTokenReport) and records_equal(rep, back)


@pytest.mark.parametrize("threshold, message", [(0.0, "must be in"), (1.5, "must be in"), ("x", "must be a number")])
def test_dead_tokens_threshold_errors(threshold, message):
    with pytest.raises(MmvizError, match=message):
        dead_tokens([four_token_clip("c0", 0.1, 0)], threshold=threshold)


def test_dead_tokens_input_errors():
    with pytest.raises(MmvizError, match="No inspections"):
        dead_tokens([])
    a = four_token_clip("c0", 0.1, 0)
    att = np.zeros((1, 1, 2, len(KMOD)), dtype=np.float32)
    att[..., 0] = 1.0
    b = make_inspection(att, np.ones((2, 2, 3)))
    with pytest.raises(MmvizError, match="different fusion blocks"):
        dead_tokens([a, b])
    c = four_token_clip("c1", 0.1, 1)
    c = make_inspection(c.cross_attention, c.token_states, gates=c.gates, checkpoint="other")
    with pytest.raises(MmvizError, match="2 checkpoints"):
        dead_tokens([a, c])


def test_tiny_model_diagnostics(tiny_runner, tmp_path):
    from mmviz.testing.tiny import synthetic_clip

    ins = tiny_runner.inspect([synthetic_clip(0), synthetic_clip(1, visual=False)])
    d = token_diagnostics(ins[0])
    n = ins[0].n_tokens
    assert d.norms.shape == (ins[0].token_states.shape[0], n)
    assert d.attention_share.shape == (ins[0].n_blocks, n, 3)
    assert d.similarity.shape == (n, n)
    np.testing.assert_allclose(d.attention_share.sum(-1), 1.0, atol=1e-5)
    # without video no token can look at visual keys
    assert token_diagnostics(ins[1]).attention_share[..., 2].max() == 0.0
    save_record(d, tmp_path / "diag")
    assert records_equal(d, load_record(tmp_path / "diag"))
    rep = dead_tokens(ins)
    assert rep.av_share.shape == (2, n)
    assert not rep.frozen.any()  # the LM layers change every token


# ---- per-clip quantities (issue 12, part 6)


def test_block_updates_and_token_predictions_come_from_the_inspection():
    import dataclasses

    ins = four_token_clip("c0", 0.1, 0)
    assert token_diagnostics(ins).block_update is None  # an inspection saved before block updates were recorded
    upd = np.arange(2 * 4 * 2, dtype=np.float32).reshape(2, 4, 2) / 100
    preds = Predictions(1.5, 0.0, 0.0, 0.0, np.array([0.5, -1.0, 2.0, 0.0], np.float32))
    d = token_diagnostics(dataclasses.replace(ins, block_updates=upd, predictions=preds))
    np.testing.assert_array_equal(d.block_update, upd)
    np.testing.assert_allclose(d.block_update_mean(), upd.mean(1))
    np.testing.assert_allclose(d.token_predictions, [0.5, -1.0, 2.0, 0.0])
    assert d.fused_prediction == 1.5
    with pytest.raises(MmvizError, match="block updates of shape"):
        token_diagnostics(dataclasses.replace(ins, block_updates=upd[:1]))


def test_attention_by_block_and_by_time():
    d = token_diagnostics(four_token_clip("c0", token3_av=0.1, rng_seed=0))
    # per block, mean over the 4 tokens: block 0 token 1 all audio; block 1 token 1 all visual, token 3 0.1 audio
    np.testing.assert_allclose(d.block_share(), [[0.75, 0.25, 0.0], [0.725, 0.025, 0.25]], atol=1e-6)
    # keys: audio at 0.5 s and 1.5 s, visual at 0.0 s and 1.0 s: 0.5 s bins up to 2 s
    np.testing.assert_allclose(d.time_bin_edges, [0.0, 0.5, 1.0, 1.5, 2.0])
    # mean over 2 blocks x 2 heads x 4 tokens: audio 0.5 s 2/16, visual 0.0 s 2/16, audio 1.5 s 0.2/16
    np.testing.assert_allclose(d.time_share, [[0.0, 0.125], [0.125, 0.0], [0.0, 0.0], [0.0125, 0.0]], atol=1e-6)
    null = d.attention_share_overall[:, 0].mean()
    assert float(d.time_share.sum() + null) == pytest.approx(1.0, abs=1e-6)
    i, j, _ = d.most_similar_pair()
    assert i < j


def test_time_bins_stay_few_on_long_clips():
    from mmviz.explain.tokens import MAX_TIME_BINS, _time_share

    kmod = np.array([0] + [1] * 600, dtype=np.int64)
    times = np.concatenate([[np.nan], np.arange(600) * 0.1])  # 60 s of audio steps
    att = np.full((1, 1, 1, 601), 1 / 601)
    edges, share = _time_share(att, kmod, times)
    assert len(share) <= MAX_TIME_BINS and edges[-1] >= 59.9
    assert share[:, 0].sum() == pytest.approx(600 / 601)


def test_old_token_diagnostics_records_still_load(tmp_path):
    import json

    d = token_diagnostics(four_token_clip("c0", 0.1, 0))
    path = save_record(d, tmp_path / "old")
    doc = json.loads(path.read_text())
    body = doc["record"] if "record" in doc else doc
    fields = body.get("fields", body)
    for k in ("token_predictions", "fused_prediction", "block_update", "time_bin_edges", "time_share"):
        fields.pop(k, None)
    path.write_text(json.dumps(doc))
    back = load_record(tmp_path / "old")
    assert back.block_update is None and back.time_share is None and back.block_update_mean() is None
