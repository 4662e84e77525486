"""Heads that mean what their names say: each head's loss uses its own target (issue 11).

On the tiny model: the text head learns the transcript's valence, the audio head the voice's,
the visual head the face's, the fused head the clip label (``head_targets="planted"``); text-only
items have audio and video absent; an old config (no such fields) keeps the old behaviour.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from mmviz.data.dataset import LabelledClip
from mmviz.demo.corpus import planted_valences
from mmviz.testing.tiny import synthetic_clip, tiny_config, tiny_model
from mmviz.training.modality_dropout import with_dropout
from mmviz.training.targets import item_targets, stack_targets, text_only_items
from mmviz_models.config import FusionConfig
from mmviz_models.losses import HeadTargets, fusion_loss

META = {"clip_id": "demo001", "label": -2.5, "text_valence": 0.3, "vocal_valence": 1.2, "facial_valence": -2.5}


def _clip(meta: dict = META, seed: int = 0) -> LabelledClip:
    return LabelledClip(synthetic_clip(seed, duration=1.0, text="a fine film"), float(meta["label"]), "train", dict(meta))


def test_planted_valences_come_from_the_metadata_and_skip_unknown_ones():
    assert planted_valences(META) == {"text": 0.3, "audio": 1.2, "visual": -2.5}
    assert planted_valences({"text_valence": 1.0, "vocal_valence": float("nan")}) == {"text": 1.0}


def test_planted_targets_give_each_head_its_own_valence_and_the_fused_head_the_label():
    c = _clip()
    t = item_targets(c, c.features, c.label, (), "planted")
    assert (t.fused, t.text, t.audio, t.visual) == (-2.5, 0.3, 1.2, -2.5)
    old = item_targets(c, c.features, c.label, (), "label")
    assert (old.fused, old.text, old.audio, old.visual) == (-2.5,) * 4  # the first default model's recipe


def test_a_removed_modality_teaches_its_head_neutral():
    from mmviz.features.ablate import remove

    c = _clip()
    feats = remove(c.features, ("audio", "text"), "absent")
    t = item_targets(c, feats, -2.5, ("audio", "text"), "planted")
    assert (t.text, t.audio, t.visual) == (0.0, 0.0, -2.5)


def test_real_clips_without_planted_valences_give_their_unimodal_heads_no_target():
    c = LabelledClip(synthetic_clip(1, duration=1.0), 1.5, "train", {"clip_id": "x"})
    t = item_targets(c, c.features, c.label, (), "planted")
    assert t.fused == 1.5 and all(np.isnan(v) for v in (t.text, t.audio, t.visual))


def test_text_only_items_have_audio_and_video_absent_and_are_never_dropped():
    items = text_only_items([("a1", "i loved it", 2.4), ("a2", "", 1.0), ("a3", "it was dull", -1.2)])
    assert [c.label for c in items] == [2.4, -1.2]  # empty text skipped
    for c in items:
        assert c.features.audio is None and c.features.visual is None and c.features.transcript
        t = item_targets(c, c.features, c.label, (), "planted")
        assert (t.fused, t.text, t.audio, t.visual) == (c.label, c.label, 0.0, 0.0)
    from mmviz.demo.label import label_without

    rng = random.Random(0)
    out = with_dropout(items * 20, 1.0, lambda clip, d: label_without(clip.meta, d), rng, "planted")
    assert all(f is c.features for (f, _), c in zip(out, items * 20))  # no label rule for real text: kept whole


def test_dropout_under_planted_targets_zeroes_the_removed_heads():
    from mmviz.demo.label import label_without

    rng = random.Random(3)
    out = with_dropout([_clip()] * 40, 1.0, lambda clip, d: label_without(clip.meta, d), rng, "planted")
    seen = set()
    for feats, t in out:
        text_gone = not feats.transcript
        assert (t.text == 0.0) if text_gone else (t.text == 0.3)
        seen.add(text_gone)
    assert seen == {True, False}


def test_each_heads_loss_uses_its_own_target():
    model, tok = tiny_model(tiny_config())
    from mmviz.inference.batching import make_inputs

    feats = [synthetic_clip(i, duration=1.0) for i in range(3)]
    o = model(make_inputs(feats, tok, model.cfg))
    t = HeadTargets(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([3.0, 3.0, 3.0]),
                    torch.tensor([-3.0, float("nan"), -3.0]), torch.tensor([0.0, 0.0, 0.0]))
    _, parts = fusion_loss(o, t, model.cfg)
    assert parts["fused"] == pytest.approx(float((o.pred_fused - t.fused).abs().mean()), rel=1e-5)
    assert parts["text"] == pytest.approx(float((o.pred_text - 3.0).abs().mean()), rel=1e-5)
    assert parts["audio"] == pytest.approx(float((o.pred_audio[[0, 2]] + 3.0).abs().mean()), rel=1e-5)  # NaN: no loss
    assert parts["visual"] == pytest.approx(float(o.pred_visual.abs().mean()), rel=1e-5)
    # a bare label tensor still means "every head on the label" (old call sites)
    _, same = fusion_loss(o, t.fused, model.cfg)
    assert same["text"] == pytest.approx(float((o.pred_text - t.fused).abs().mean()), rel=1e-5)


def test_a_head_without_any_target_gets_no_gradient():
    model, tok = tiny_model(tiny_config())
    from mmviz.inference.batching import make_inputs

    model.train()
    o = model(make_inputs([synthetic_clip(0, duration=1.0)], tok, model.cfg))
    nan = torch.tensor([float("nan")])
    loss, _ = fusion_loss(o, HeadTargets(torch.tensor([1.0]), torch.tensor([1.0]), nan, torch.tensor([1.0])), model.cfg)
    loss.backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.head_audio.parameters())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.head_text.parameters())


def test_stack_targets_builds_one_tensor_per_head():
    c = _clip()
    h = stack_targets([item_targets(c, c.features, c.label, (), "planted")] * 2)
    assert h.text.tolist() == pytest.approx([0.3, 0.3]) and h.audio.tolist() == pytest.approx([1.2, 1.2])


def test_training_with_planted_targets_teaches_the_audio_head_the_voice_not_the_label(tmp_path):
    """Loudness carries the *voice* valence; the label is the face's. Only planted targets can learn that."""
    from mmviz.training.loop import TrainSettings, train

    rng = np.random.default_rng(0)
    data = []
    for i in range(64):
        c = synthetic_clip(i, duration=1.0, text="ok")
        vocal, facial = float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3))
        c.audio.values[:, c.audio.names.index("rms_db")] = vocal / 2 + 0.05 * rng.normal(size=c.audio.n_steps)
        meta = {"clip_id": f"c{i}", "label": facial, "text_valence": 0.0, "vocal_valence": vocal, "facial_valence": facial}
        data.append(LabelledClip(c, facial, "valid" if i % 4 == 0 else "train", meta))
    cfg = tiny_config(head_targets="planted")
    summary = train(cfg, data, tmp_path, TrainSettings(epochs=8, batch_size=16, lr=3e-3, patience=10),
                    progress=False, log=lambda s: None)
    from mmviz_models.checkpoint import load_checkpoint

    from mmviz.training.evaluation import planted_table

    model, bb, _ = load_checkpoint(tmp_path)
    assert model.cfg.head_targets == "planted"
    rows = planted_table(model, bb.tokenizer, [c for c in data if c.split == "valid"])
    assert rows["audio head vs planted audio valence"]["Corr"] > 0.8, rows
    assert summary["history"][-1]["valid"]["audio"]["MAE"] < summary["history"][0]["valid"]["audio"]["MAE"]


# ------------------------------------------------------------- old checkpoints keep their meaning
def test_a_config_without_the_new_fields_loads_with_the_old_behaviour(repo_root):
    d = FusionConfig().to_dict()
    for k in ("head_targets", "text_read_layer"):
        d.pop(k)
    cfg = FusionConfig.from_dict(d)
    assert cfg.head_targets == "label" and cfg.text_read_layer is None
    shipped = json.loads((repo_root / "models" / "default" / "config.json").read_text())
    if "head_targets" not in shipped:  # the first default model: trained on labels, reads the last layer
        old = FusionConfig.from_dict(shipped)
        assert old.head_targets == "label" and old.text_read_layer is None
    with pytest.raises(ValueError):
        FusionConfig(head_targets="voice")


def test_text_read_layer_none_reads_the_final_normed_last_layer_and_an_index_reads_that_hidden_state():
    from mmviz.inference.batching import tokenize

    cfg = tiny_config()
    model, tok = tiny_model(cfg)
    ids, mask = tokenize(["a fine film indeed", "bad"], tok, cfg.max_text_tokens)
    pos = (mask.long().cumsum(1) - 1).clamp_min(0)
    with torch.no_grad():
        hs = model.lm(input_ids=ids, attention_mask=mask.long(), position_ids=pos, output_hidden_states=True).hidden_states
        m = mask.float()[..., None]
        pooled = lambda h: (h * m).sum(1) / m.sum(1)  # noqa: E731
        old = model.encode_text(ids, mask).emb_text
        torch.testing.assert_close(old, pooled(hs[-1]), atol=1e-5, rtol=1e-4)  # HF's last hidden state is final-normed
        for layer in (0, 1):
            mid, _ = tiny_model(cfg.replace(text_read_layer=layer))
            got = mid.encode_text(ids, mask)
            torch.testing.assert_close(got.emb_text, pooled(hs[layer]), atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(got.text_states, model.encode_text(ids, mask).text_states)  # fusion path unchanged
    with pytest.raises(ValueError):
        tiny_model(cfg.replace(text_read_layer=3))[0].encode_text(ids, mask)
