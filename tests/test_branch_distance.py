"""How far a clip lies from the training data, per branch, and what that does to the unimodal heads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmviz.inference.runner import ModelRunner, distance_note
from mmviz.inference.tiny import clip_for, tiny_config, tiny_model
from mmviz_models.checkpoint import load_checkpoint, save_checkpoint
from mmviz_models.distance import BranchDistance, shrink


def test_a_sample_from_the_training_cloud_is_near_and_a_shifted_one_is_far():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 8)) * np.arange(1, 9)  # unequal spreads: Mahalanobis, not Euclid
    d = BranchDistance({"audio": 8})
    info = d.fit("audio", train)
    assert 0.3 < info["median_ratio"] < 1.0
    near = torch.tensor(rng.normal(size=(50, 8)) * np.arange(1, 9), dtype=torch.float32)
    far = near.clone()
    far[:, 0] += 20.0  # 20 sd along the tightest axis (a third of the widest axis' spread)
    assert float(d("audio", near).median()) < 1.0
    assert float(d("audio", far).min()) > 1.5
    assert float(d("audio", far).median()) > 2 * float(d("audio", near).median())
    # a large step along the widest axis is no stranger than a small one along the tightest
    wide = torch.zeros(1, 8) + torch.tensor(train.mean(0), dtype=torch.float32)
    wide[0, 7] += 8.0
    tight = torch.zeros(1, 8) + torch.tensor(train.mean(0), dtype=torch.float32)
    tight[0, 0] += 4.0
    assert float(d("audio", tight)) > float(d("audio", wide))


def test_shrink_leaves_familiar_inputs_alone_and_pulls_far_ones_toward_neutral():
    r = torch.tensor([0.2, 1.0, 2.0, 4.0, float("nan")])
    assert shrink(r).tolist() == pytest.approx([1.0, 1.0, 0.25, 0.0625, 1.0])


def test_an_unfitted_branch_reports_nan_and_shrinks_nothing():
    d = BranchDistance({"visual": 4})
    assert torch.isnan(d("visual", torch.zeros(3, 4))).all()


def _fitted_runner(tmp_path):
    """A tiny model with distances fitted on its own clips (seeds 0..39), saved and loaded back."""
    cfg = tiny_config(branch_distance=True)
    model, tok = tiny_model(cfg)
    runner = ModelRunner(model, tok, checkpoint_hash="tiny", backbone_name=cfg.backbone, device=torch.device("cpu"))
    clips = [clip_for(runner, seed=s) for s in range(40)]
    with torch.no_grad():
        o = model(runner.inputs(clips))
    for b, e in (("audio", o.emb_audio), ("visual", o.emb_visual), ("text", o.emb_text)):
        model.distance.fit(b, e.numpy() + np.random.default_rng(1).normal(scale=1e-3, size=e.shape))
    save_checkpoint(model, tmp_path / "ck")
    model2, bb, h = load_checkpoint(tmp_path / "ck")
    return ModelRunner(model2, bb.tokenizer, checkpoint_hash=h, backbone_name=cfg.backbone, device=torch.device("cpu"))


def test_an_unseen_voice_is_farther_than_a_training_voice_and_its_head_shrinks(tmp_path):
    runner = _fitted_runner(tmp_path)
    familiar = clip_for(runner, seed=3)
    # the same clip spoken by a "voice" unlike any in training: every audio descriptor far off
    a = familiar.audio
    loud = dataclasses.replace(familiar, audio=dataclasses.replace(a, values=a.values * 4 + 25.0),
                               clip_id="unseen", content_hash="unseen")
    ins_f, ins_u = runner.inspect([familiar, loud])
    assert ins_u.distance["audio"] > 3 * ins_f.distance["audio"]
    assert ins_u.distance["audio"] > 1.5
    # the record keeps the head's own output and says what the shrinkage did
    s = float(shrink(torch.tensor(ins_u.distance["audio"])))
    assert ins_u.predictions.audio == pytest.approx(ins_u.unshrunk["audio"] * s, abs=1e-5)
    assert any("the voice (audio" in n for n in ins_u.notes)
    assert not any("Unlike anything" in n for n in ins_f.notes)


def test_distances_survive_a_half_precision_checkpoint(tmp_path):
    runner = _fitted_runner(tmp_path)
    save_checkpoint(runner.model, tmp_path / "half", half=True)
    model, _, _ = load_checkpoint(tmp_path / "half")
    clip = clip_for(runner, seed=5)
    x = runner.inputs([clip])
    with torch.no_grad():
        a, b = runner.model(x).distance, model(x).distance
    assert torch.allclose(a, b, rtol=2e-2)


def test_a_branch_that_is_absent_gets_no_distance_and_no_warning(tmp_path):
    runner = _fitted_runner(tmp_path)
    ins = runner.inspect([clip_for(runner, seed=2, audio=False)])[0]
    assert "audio" not in ins.distance and "visual" in ins.distance


def test_a_checkpoint_without_statistics_predicts_exactly_as_before():
    cfg = tiny_config()
    model, tok = tiny_model(cfg)
    runner = ModelRunner(model, tok, checkpoint_hash="t", backbone_name=cfg.backbone, device=torch.device("cpu"))
    ins = runner.inspect([clip_for(runner, seed=1)])[0]
    assert ins.distance == {} and ins.unshrunk == {}
    assert model.distance is None and not any(k.startswith("distance.") for k in model.trainable_state_dict())


def test_the_note_names_the_branch_and_both_numbers():
    note = distance_note({"audio": 4.2, "text": 0.7}, {"audio": 2.58, "text": -1.0}, {"audio": 0.15, "text": -1.0})
    assert "the voice (audio, 4.2x" in note and "+2.58 shrunk to +0.15" in note and "text," not in note
    assert distance_note({"audio": 1.2}, {"audio": 1.0}, {"audio": 1.0}) is None
