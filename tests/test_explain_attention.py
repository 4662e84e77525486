"""Attention curves: hand-built inspections with known answers, plus the tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.errors import MmvizError
from mmviz.explain.attention import AttentionCurves, attention_attribution_correlation, attention_curves
from mmviz.inference.record import Inspection, Predictions
from mmviz.records.serialize import load_record, records_equal, save_record

NULL, AUDIO, VISUAL = 0, 1, 2


def make_inspection(att: np.ndarray, kmod, ktimes, *, clip_id: str = "hand", states: np.ndarray | None = None,
                    gates: np.ndarray | None = None) -> Inspection:
    """An Inspection around a given (n_blocks, H, N, K) attention; everything else is filler."""
    att = np.asarray(att, dtype=np.float32)
    nb, _, n, _ = att.shape
    if states is None:
        states = np.ones((3, n, 4), dtype=np.float32)
    if gates is None:
        gates = np.full((nb, 2), 0.5, dtype=np.float32)
    return Inspection(
        clip_id=clip_id, content_hash="h-" + clip_id, checkpoint_hash="ckpt", backbone="hand",
        predictions=Predictions(0.0, 0.0, 0.0, 0.0, np.zeros(n, np.float32)),
        cross_attention=att, key_modality=np.asarray(kmod, dtype=np.int8), key_times=np.asarray(ktimes, dtype=np.float64),
        block_layers=tuple(range(nb)), gates=gates, token_states=states,
        embeddings={"text": np.ones(4, np.float32), "audio": np.ones(2, np.float32), "visual": np.ones(2, np.float32),
                    "fused": np.ones(4, np.float32)},
        text_tokens=("a",), input_sizes={}, device="cpu", timings={}, created="", mmviz_version="test",
    )


# keys: null, audio at 0.5/1.0/1.5 s, visual at 0.0/1.0/2.0 s
KMOD = [NULL, AUDIO, AUDIO, AUDIO, VISUAL, VISUAL, VISUAL]
KTIMES = [np.nan, 0.5, 1.0, 1.5, 0.0, 1.0, 2.0]


def one_hot_attention(key: int, nb: int = 2, h: int = 2, n: int = 3, k: int = len(KMOD)) -> np.ndarray:
    a = np.zeros((nb, h, n, k), dtype=np.float32)
    a[..., key] = 1.0
    return a


def test_all_mass_on_audio_at_one_second():
    c = attention_curves(make_inspection(one_hot_attention(2), KMOD, KTIMES))
    t, audio = c.curve("audio")
    assert t[np.argmax(audio)] == pytest.approx(1.0)
    assert audio.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(c.curves["visual"], np.zeros(3))
    assert c.null_share == pytest.approx(0.0)
    assert c.modality_mass == pytest.approx({"null": 0.0, "audio": 1.0, "visual": 0.0})
    # the same in every block and head
    np.testing.assert_allclose(c.per_block["audio"], [[0, 1, 0], [0, 1, 0]])
    assert c.per_head["visual"].shape == (2, 2, 3) and not c.per_head["visual"].any()


def test_per_block_and_per_head_views_keep_what_the_mean_hides():
    a = np.zeros((2, 2, 1, len(KMOD)), dtype=np.float32)
    a[0, 0, 0, 1] = 1.0  # block 0 head 0: audio 0.5 s
    a[0, 1, 0, 6] = 1.0  # block 0 head 1: visual 2.0 s
    a[1, :, 0, 0] = 1.0  # block 1: all heads on the null key
    c = attention_curves(make_inspection(a, KMOD, KTIMES))
    assert c.null_share == pytest.approx(0.5)
    np.testing.assert_allclose(c.null_share_per_block, [0.0, 1.0])
    np.testing.assert_allclose(c.null_share_per_head, [[0, 0], [1, 1]])
    np.testing.assert_allclose(c.curve("audio", block=0, head=0)[1], [1, 0, 0])
    np.testing.assert_allclose(c.curve("visual", block=0, head=1)[1], [0, 0, 1])
    np.testing.assert_allclose(c.curve("audio", block=0)[1], [0.5, 0, 0])
    np.testing.assert_allclose(c.curves["audio"], [0.25, 0, 0])
    # heatmap of block 0, head 1: one token row, sorted keys with labels
    hm = c.heatmap(0, head=1)
    assert hm.shape == (1, len(KMOD))
    assert c.key_labels[int(np.argmax(hm[0]))] == "V 2.00s"


def test_null_share_per_token():
    a = np.zeros((1, 1, 2, len(KMOD)), dtype=np.float32)
    a[0, 0, 0, 0] = 1.0  # token 0 looks at nothing
    a[0, 0, 1, 3] = 1.0  # token 1 looks at audio 1.5 s
    c = attention_curves(make_inspection(a, KMOD, KTIMES))
    np.testing.assert_allclose(c.null_share_per_token, [1.0, 0.0])
    assert c.null_share == pytest.approx(0.5)


def test_keys_are_sorted_by_modality_then_time():
    perm = np.array([5, 0, 3, 6, 1, 4, 2])  # shuffle the keys
    a = one_hot_attention(2)[..., perm]  # mass still on audio 1.0 s, now at column 6
    c = attention_curves(make_inspection(a, np.asarray(KMOD)[perm], np.asarray(KTIMES)[perm]))
    assert c.key_labels == ("null", "A 0.50s", "A 1.00s", "A 1.50s", "V 0.00s", "V 1.00s", "V 2.00s")
    np.testing.assert_allclose(c.times["audio"], [0.5, 1.0, 1.5])
    np.testing.assert_allclose(c.curves["audio"], [0, 1, 0])
    assert c.attention[0, 0, 0, 2] == 1.0


def test_tiny_model_masses_add_up_and_round_trip(tiny_runner, tmp_path):
    from mmviz.testing.tiny import synthetic_clip

    ins, no_video = tiny_runner.inspect([synthetic_clip(0), synthetic_clip(1, visual=False)])
    c = attention_curves(ins)
    total = c.null_share + c.curves["audio"].sum() + c.curves["visual"].sum()
    assert total == pytest.approx(1.0, abs=1e-5)
    assert c.attention.shape == ins.cross_attention.shape
    assert len(c.times["audio"]) == int(ins.key_mask("audio").sum())
    assert np.all(np.diff(c.times["visual"]) > 0)
    save_record(c, tmp_path / "curves")
    back = load_record(tmp_path / "curves")
    assert isinstance(back, AttentionCurves) and records_equal(c, back)
    # a clip without video: an empty visual curve, not an error
    cv = attention_curves(no_video)
    assert cv.curves["visual"].shape == (0,) and cv.modality_mass["visual"] == 0.0


def test_no_fusion_blocks_is_a_user_error():
    with pytest.raises(MmvizError, match="no cross-attention"):
        attention_curves(make_inspection(np.zeros((0, 2, 3, len(KMOD))), KMOD, KTIMES, gates=np.zeros((0, 2))))


# ---------------------------------------------------------------- attention vs attribution


def audio_ramp_curves() -> AttentionCurves:
    """Audio attention rising with time: 0.1, 0.3, 0.6 of the mass at 0.5, 1.0, 1.5 s."""
    a = np.zeros((1, 1, 1, len(KMOD)), dtype=np.float32)
    a[0, 0, 0, [1, 2, 3]] = [0.1, 0.3, 0.6]
    return attention_curves(make_inspection(a, KMOD, KTIMES))


def test_correlation_is_one_when_attribution_ranks_the_same():
    c = audio_ramp_curves()
    assert attention_attribution_correlation(c, [0.5, 1.0, 1.5], [1.0, 2.0, 9.0], "audio") == pytest.approx(1.0)
    # order of the steps does not matter, and times on a nearby grid (float32 rounding) match
    assert attention_attribution_correlation(c, [1.5, 0.5, 1.0000001], [9.0, 1.0, 2.0], "audio") == pytest.approx(1.0)


def test_correlation_flags_misleading_attention():
    c = audio_ramp_curves()
    assert attention_attribution_correlation(c, [0.5, 1.0, 1.5], [3.0, 2.0, 1.0], "audio") == pytest.approx(-1.0)
    # magnitude by default: a strong negative attribution is important evidence
    assert attention_attribution_correlation(c, [0.5, 1.0, 1.5], [0.1, 0.2, -5.0], "audio") == pytest.approx(1.0)
    assert attention_attribution_correlation(c, [0.5, 1.0, 1.5], [0.1, 0.2, -5.0], "audio", use_abs=False) == pytest.approx(-0.5)


def test_correlation_undefined_for_constant_series():
    c = audio_ramp_curves()
    a = np.zeros((2, 1, 1, len(KMOD)), dtype=np.float32)
    a[0, 0, 0, [1, 2, 3]] = [0.1, 0.3, 0.6]
    a[1, 0, 0, [1, 2, 3]] = [0.6, 0.4, 0.1]  # mean 0.35 everywhere, up to float32 rounding
    flat = attention_curves(make_inspection(a, KMOD, KTIMES))
    assert np.isnan(attention_attribution_correlation(flat, [0.5, 1.0, 1.5], [1.0, 2.0, 3.0], "audio"))
    assert np.isnan(attention_attribution_correlation(c, [0.5, 1.0, 1.5], [0.0, 0.0, 0.0], "audio"))
    # the visual attention is all zero here
    assert np.isnan(attention_attribution_correlation(c, [0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "visual"))


@pytest.mark.parametrize(
    "times, values, modality, message",
    [
        ([0.5, 1.0, 1.5], [1.0, 2.0], "audio", "must match"),
        ([0.5, 1.0], [1.0, 2.0], "audio", "at least 3"),
        ([0.5, 1.0, 3.0], [1.0, 2.0, 3.0], "audio", "no audio attention key"),
        ([0.5, 1.0, 1.5], [1.0, np.nan, 3.0], "audio", "NaN"),
        ([0.5, 1.0, 1.5], [1.0, 2.0, 3.0], "text", "Unknown modality"),
    ],
)
def test_correlation_input_errors(times, values, modality, message):
    with pytest.raises(MmvizError, match=message):
        attention_attribution_correlation(audio_ramp_curves(), times, values, modality)


def test_correlation_per_block_and_head():
    a = np.zeros((2, 1, 1, len(KMOD)), dtype=np.float32)
    a[0, 0, 0, [1, 2, 3]] = [0.1, 0.3, 0.6]  # block 0 agrees with the attribution
    a[1, 0, 0, [1, 2, 3]] = [0.6, 0.3, 0.1]  # block 1 disagrees
    c = attention_curves(make_inspection(a, KMOD, KTIMES))
    kw = dict(times=[0.5, 1.0, 1.5], attribution_values=[1.0, 2.0, 3.0], modality="audio")
    assert attention_attribution_correlation(c, block=0, head=0, **kw) == pytest.approx(1.0)
    assert attention_attribution_correlation(c, block=1, **kw) == pytest.approx(-1.0)
    # the mean over blocks is U-shaped (0.35, 0.3, 0.35): no monotone relation left
    assert attention_attribution_correlation(c, **kw) == pytest.approx(0.0)
    with pytest.raises(MmvizError, match="Block 5"):
        attention_attribution_correlation(c, block=5, **kw)
