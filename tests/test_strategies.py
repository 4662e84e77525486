"""Fusion strategies (deep / late / early / ume / umt): one checkpoint contract, tiny model, fast.

What is checked: each strategy trains a few steps and its checkpoint reloads; deep fusion is
unchanged; a UME's fused score is the mean (or the learned weighted mean) of its members and
its members are independent; late fusion without a modality averages the others; UMT's
distillation term falls toward its teacher; bad combinations are user-facing errors.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from mmviz.data.dataset import LabelledClip
from mmviz.errors import CheckpointError, MmvizError
from mmviz.records.serialize import save_record
from mmviz.testing.tiny import clip_for, synthetic_clip, tiny_config, tiny_model, tiny_runner
from mmviz.training.loop import TrainSettings, train
from mmviz_models.checkpoint import load_checkpoint
from mmviz_models.config import STRATEGIES, FusionConfig
from mmviz_models.strategies import member_parameters

QUICK = TrainSettings(epochs=3, batch_size=8, lr=3e-3, patience=10)


def _data(n: int = 40) -> list[LabelledClip]:
    """Loudness and smile set the label: learnable by an audio member and a visual member alone."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        c = synthetic_clip(i, duration=1.0, text="ok" if i % 2 else "fine")
        label = float(rng.uniform(-3, 3))
        c.audio.values[:, c.audio.names.index("rms_db")] = label / 2
        c.visual.values[:, c.visual.names.index("smile")] = label / 2
        out.append(LabelledClip(c, label, "valid" if i % 4 == 0 else "train", {}))
    return out


def _train(tmp_path_factory, name: str, **cfg_changes) -> tuple:
    out = tmp_path_factory.mktemp(name)
    kw = {"teacher": cfg_changes.pop("teacher")} if "teacher" in cfg_changes else {}
    summary = train(tiny_config(**cfg_changes), _data(), out, QUICK, progress=False, log=lambda m: None, **kw)
    return out, summary


@pytest.fixture(scope="module")
def ume_teacher(tmp_path_factory):
    return _train(tmp_path_factory, "ume", strategy="ume")[0]


# ---------------------------------------------------------------- deep is unchanged
def test_deep_is_bit_identical_to_the_model_before_strategies():
    """Golden numbers computed with the code before ``strategy`` existed (same seed, same clips;
    that model's audio head read the mixed sequence, ``branch_view="mixed"``)."""
    r = tiny_runner(tiny_config(branch_view="mixed"))
    assert r.cfg.strategy == "deep" and r.model.strategy_fusion is None
    clips = [clip_for(r, 0), clip_for(r, 1, audio=False), clip_for(r, 2, text="")]
    o = r.forward(r.inputs(clips), collect=True)
    assert o.pred_fused.tolist() == [-0.0010475963354110718, -0.02180260419845581, 0.048651888966560364]
    assert o.pred_audio.tolist() == [0.0957813560962677, 0.0013475343585014343, 0.13832484185695648]
    names = sorted(r.model.trainable_state_dict())
    assert len(names) == 66 and hashlib.sha256(",".join(names).encode()).hexdigest()[:16] == "6c014939f6c7308c"


def test_config_without_strategy_loads_as_deep_and_bad_values_are_refused(tmp_path):
    d = tiny_config().to_dict()
    for k in ("strategy", "ume_weights"):
        d.pop(k)
    d["loss"].pop("distill")
    assert FusionConfig.from_dict(d).strategy == "deep"
    with pytest.raises(ValueError, match="strategy must be one of"):
        tiny_config(strategy="fancy")
    with pytest.raises(ValueError, match="head_targets='label'"):
        tiny_config(strategy="ume", head_targets="planted")
    (tmp_path / "config.json").write_text(json.dumps({**tiny_config().to_dict(), "strategy": "fancy"}))
    from mmviz_models.checkpoint import read_config

    with pytest.raises(CheckpointError, match="strategy must be one of"):
        read_config(tmp_path)


# ---------------------------------------------------------------- each strategy trains and reloads
@pytest.mark.parametrize("strategy", ["late", "early", "ume"])
def test_each_strategy_trains_and_its_checkpoint_reloads(tmp_path_factory, strategy):
    out, summary = _train(tmp_path_factory, strategy, strategy=strategy)
    assert summary["best_valid_mae"] < summary["history"][0]["valid"]["fused"]["MAE"] + 1e-9
    model, bb, h = load_checkpoint(out)
    assert model.cfg.strategy == strategy and h == summary["checkpoint_hash"]
    assert model.fusion_tokens is None and model.blocks == [] and model.strategy_fusion is not None
    assert json.loads((out / "meta.json").read_text())["strategy"] == strategy
    c = _data(1)[0].features
    from mmviz.inference.runner import ModelRunner

    ins = ModelRunner(model, bb.tokenizer, h, model.cfg.backbone, torch.device("cpu")).inspect([c])[0]
    assert ins.strategy == strategy and not ins.has_fusion_tokens and ins.n_blocks == 0
    assert ins.predictions.tokens.shape == (0,) and ins.gates.shape == (0, 2)
    assert ins.key_modality.shape == ins.key_times.shape == (1 + c.audio.n_steps + c.visual.n_steps,)


def test_all_strategies_are_known_to_the_records():
    from mmviz.inference.record import STRATEGY_LABELS

    assert tuple(STRATEGY_LABELS) == STRATEGIES


# ---------------------------------------------------------------- UME: a mean of independent members
def _members(o) -> torch.Tensor:
    return torch.stack([o.pred_text, o.pred_audio, o.pred_visual], -1)  # (B, 3)


def test_ume_prediction_is_the_mean_of_its_members():
    r = tiny_runner(tiny_config(strategy="ume"))
    o = r.forward(r.inputs([clip_for(r, i) for i in range(4)]))
    assert torch.allclose(o.pred_fused, _members(o).mean(-1), atol=1e-6)
    assert not torch.allclose(o.pred_fused, o.pred_text)  # not a single member


def test_learned_ume_is_the_weighted_mean_and_weights_sum_to_one():
    r = tiny_runner(tiny_config(strategy="ume", ume_weights="learned"))
    with torch.no_grad():
        r.model.strategy_fusion.member_logits.copy_(torch.tensor([1.0, -0.5, 0.3]))
    w = r.model.strategy_fusion.member_weights().detach()
    assert float(w.sum()) == pytest.approx(1.0) and (w > 0).all()
    o = r.forward(r.inputs([clip_for(r, i) for i in range(4)]))
    assert torch.allclose(o.pred_fused, (_members(o) * w).sum(-1), atol=1e-6)


def test_learned_ume_weights_are_fitted_after_training_and_saved(tmp_path_factory):
    out, summary = _train(tmp_path_factory, "ume-learned", strategy="ume", ume_weights="learned")
    model, _, h = load_checkpoint(out)
    w = model.strategy_fusion.member_weights().detach()
    assert float(w.sum()) == pytest.approx(1.0) and not torch.allclose(w, torch.full((3,), 1 / 3))
    meta = json.loads((out / "meta.json").read_text())
    assert meta["member_weights"] == pytest.approx(dict(zip(("text", "audio", "visual"), w.tolist())), abs=1e-6)
    assert h == summary["checkpoint_hash"]  # the summary names the checkpoint with the fitted weights


def test_ume_members_are_independent():
    """The audio member's loss gives no gradient to the visual (or text) member, and vice versa."""
    model, tok = tiny_model(tiny_config(strategy="ume"))
    model.train()
    from mmviz.inference.batching import make_inputs

    x = make_inputs([c.features for c in _data(4)], tok, model.cfg)
    groups = member_parameters(model)
    assert not set(map(id, groups["audio"])) & set(map(id, groups["visual"]))
    for member in ("audio", "visual"):
        model.zero_grad(set_to_none=True)
        getattr(model(x), f"pred_{member}").pow(2).sum().backward()
        for other, params in groups.items():
            grads = [p.grad for p in params if p.grad is not None and p.grad.abs().sum() > 0]
            assert (len(grads) > 0) == (other == member), (member, other)
    # and the audio member does not read the video at all
    with torch.no_grad():
        a = model.eval()(x).pred_audio
        x2 = make_inputs([c.features for c in _data(4)], tok, model.cfg)
        x2.visual.normal_()
        assert torch.equal(model(x2).pred_audio, a)


def test_ume_training_steps_touch_each_member_only_through_its_own_loss():
    from mmviz.training.strategies import STRATEGY_LOSS, strategy_config

    w = strategy_config(tiny_config(strategy="ume")).loss
    assert (w.fused, w.token, w.lm) == (0.0, 0.0, 0.0) and STRATEGY_LOSS["ume"]["audio"] == 1.0


# ---------------------------------------------------------------- late / early with a modality absent
def test_late_fusion_without_audio_averages_the_others():
    r = tiny_runner(tiny_config(strategy="late"))
    o = r.forward(r.inputs([clip_for(r, 0, audio=False), clip_for(r, 1, text=""), clip_for(r, 2)]))
    assert o.pred_fused[0] == pytest.approx(float((o.pred_text[0] + o.pred_visual[0]) / 2), abs=1e-6)
    assert o.pred_fused[1] == pytest.approx(float((o.pred_audio[1] + o.pred_visual[1]) / 2), abs=1e-6)
    assert o.pred_fused[2] == pytest.approx(float(_members(o)[2].mean()), abs=1e-6)


def test_early_fusion_reads_zeros_and_a_flag_for_an_absent_modality():
    r = tiny_runner(tiny_config(strategy="early"))
    with_audio = r.forward(r.inputs([clip_for(r, 0)]))
    without = r.forward(r.inputs([clip_for(r, 0, audio=False)]))
    assert torch.equal(without.emb_audio, torch.zeros_like(without.emb_audio))
    assert not torch.allclose(with_audio.pred_fused, without.pred_fused)


# ---------------------------------------------------------------- UMT: deep fusion taught by a UME
def test_umt_distillation_term_falls_toward_the_teacher(tmp_path_factory, ume_teacher):
    from mmviz.inference.batching import make_inputs
    from mmviz.training.strategies import StrategyTraining, distill_loss

    out, _ = _train(tmp_path_factory, "umt", strategy="umt", teacher=ume_teacher,
                    loss=tiny_config().loss.__class__(distill=1.0))
    student, tok, = load_checkpoint(out)[:2]
    assert student.cfg.strategy == "umt" and student.blocks  # deep fusion's modules
    plan = StrategyTraining(student.cfg, ume_teacher)
    data = [c for c in _data() if c.split == "train"]
    x = make_inputs([c.features for c in data], tok.tokenizer, student.cfg)
    texts = [c.features.transcript for c in data]
    torch.manual_seed(QUICK.seed)  # train() builds the initial model from this seed
    init, _ = tiny_model(student.cfg, seed=QUICK.seed)
    with torch.no_grad():
        t = plan.teacher_output(x, texts)
        before = float(distill_loss(init.eval()(x), t)[0])
        after = float(distill_loss(student.eval()(x), t)[0])
    assert after < before, (before, after)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["teacher"]["path"] == str(ume_teacher)


def test_umt_refuses_a_missing_or_wrong_teacher(tmp_path_factory):
    deep, _ = _train(tmp_path_factory, "deep-teacher", strategy="deep")
    with pytest.raises(MmvizError, match="needs a teacher"):
        train(tiny_config(strategy="umt"), _data(), tmp_path_factory.mktemp("x"), QUICK, progress=False, log=lambda m: None)
    with pytest.raises(CheckpointError, match="must be a uni-modal ensemble"):
        train(tiny_config(strategy="umt"), _data(), tmp_path_factory.mktemp("y"), QUICK, progress=False,
              log=lambda m: None, teacher=deep)


# ---------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def features_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    rows = ["clip_id,label,split"]
    for c in _data(16):
        save_record(c.features, d / f"{c.features.clip_id}.json")
        rows.append(f"{c.features.clip_id},{c.label},{c.split}")
    (d / "metadata.csv").write_text("\n".join(rows) + "\n")
    return d


def _cli(*argv) -> int:
    from mmviz.cli import main

    return main(["train", *map(str, argv)])


def test_cli_trains_a_ume_then_a_umt_from_it(features_dir, tmp_path, capsys):
    small = ("--backbone", "tiny-random-llama", "--epochs", "1", "--batch-size", "8", "--max-steps", "1")
    assert _cli(features_dir, "--out", tmp_path / "ume", "--strategy", "ume", "--ume-weights", "learned", *small) == 0
    assert _cli(features_dir, "--out", tmp_path / "umt", "--strategy", "umt", "--teacher", tmp_path / "ume",
                "--distill-weight", "0.5", *small) == 0
    cfg = json.loads((tmp_path / "umt" / "config.json").read_text())
    assert cfg["strategy"] == "umt" and cfg["loss"]["distill"] == 0.5
    assert json.loads((tmp_path / "ume" / "config.json").read_text())["ume_weights"] == "learned"


@pytest.mark.parametrize("argv,message", [
    (("--strategy", "umt"), "needs --teacher"),
    (("--strategy", "late", "--ume-weights", "learned"), "--ume-weights is an option of --strategy ume"),
    (("--strategy", "early", "--teacher", "somewhere"), "options of --strategy umt"),
    (("--strategy", "umt", "--teacher", "no/such/folder"), "is not an mmviz checkpoint"),
])
def test_cli_bad_combinations_are_one_message_and_exit_2(features_dir, tmp_path, capsys, argv, message):
    assert _cli(features_dir, "--out", tmp_path / "o", "--backbone", "tiny-random-llama", *argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_refuses_a_teacher_that_is_not_a_ume(features_dir, tmp_path, capsys):
    small = ("--backbone", "tiny-random-llama", "--epochs", "1", "--batch-size", "8", "--max-steps", "1")
    assert _cli(features_dir, "--out", tmp_path / "late", "--strategy", "late", *small) == 0
    assert _cli(features_dir, "--out", tmp_path / "o", "--strategy", "umt", "--teacher", tmp_path / "late", *small) == 2
    assert "must be a uni-modal ensemble" in capsys.readouterr().err
