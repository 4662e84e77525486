"""Training lowers validation error on a learnable task, and can be resumed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmviz.data.dataset import LabelledClip, load_features_dir
from mmviz.records.serialize import save_record
from mmviz.testing.tiny import synthetic_clip, tiny_config
from mmviz.training.loop import TrainSettings, evaluate, train


def _learnable(n: int = 96) -> list[LabelledClip]:
    """Loudness (an audio feature) sets the label: learnable from audio alone."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        c = synthetic_clip(i, duration=1.0, text="ok")
        label = float(rng.uniform(-3, 3))
        c.audio.values[:, c.audio.names.index("rms_db")] = label / 2 + 0.1 * rng.normal(size=c.audio.n_steps)
        out.append(LabelledClip(c, label, "valid" if i % 4 == 0 else "train", {}))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    data = _learnable()
    summary = train(tiny_config(), data, out, TrainSettings(epochs=10, batch_size=16, lr=3e-3, patience=10), progress=False, log=lambda s: None)
    return out, data, summary


def test_training_lowers_validation_mae(trained):
    out, data, summary = trained
    hist = summary["history"]
    first, best = hist[0]["valid"]["fused"]["MAE"], summary["best_valid_mae"]
    # a constant predictor of the mean scores ~MAE of |label - mean|
    labels = np.array([c.label for c in data if c.split == "valid"])
    baseline = np.abs(labels - labels.mean()).mean()
    assert best < first
    assert best < 0.8 * baseline, (best, baseline)
    assert (out / "model.safetensors").exists() and (out / "config.json").exists()


def test_training_with_frozen_fusion_tokens_reuses_their_pre_block_states(tmp_path):
    """The CPU recipe: fusion-token embeddings stay put, everything after them still learns."""
    import torch

    from mmviz.testing.tiny import tiny_model
    from mmviz_models.checkpoint import load_checkpoint
    from mmviz_models.fusion import FusionModel

    data = _learnable(64)
    s = TrainSettings(epochs=6, batch_size=16, lr=3e-3, patience=10, train_fusion_tokens=False)
    summary = train(tiny_config(), data, tmp_path, s, progress=False, log=lambda m: None)
    assert summary["best_valid_mae"] < summary["history"][0]["valid"]["fused"]["MAE"]
    model, _, _ = load_checkpoint(tmp_path)
    torch.manual_seed(s.seed)  # train() seeds like this right before building the model
    init = FusionModel(model.cfg, tiny_model(model.cfg)[0].lm).fusion_tokens
    assert torch.equal(model.fusion_tokens, init)


def test_checkpoint_stores_the_normalisation_statistics(trained):
    out, _, _ = trained
    cfg = json.loads((out / "config.json").read_text())
    assert len(cfg["audio_mean"]) == len(cfg["audio_features"]) and any(v != 0 for v in cfg["audio_mean"])


def test_resume_continues_from_the_saved_epoch(trained, tmp_path):
    _, data, _ = trained
    s = TrainSettings(epochs=2, batch_size=16, lr=3e-3)
    train(tiny_config(), data, tmp_path, s, progress=False, log=lambda m: None)
    logs: list[str] = []
    summary = train(tiny_config(), data, tmp_path, TrainSettings(epochs=3, batch_size=16, lr=3e-3), resume=True, progress=False, log=logs.append)
    assert logs[0].startswith("resuming after epoch 2"), logs
    assert summary["epochs_run"] == 3 and len(summary["history"]) == 3


def test_features_folder_round_trip(tmp_path):
    rows = ["clip_id,label,split"]
    for i in range(3):
        c = synthetic_clip(i)
        save_record(c, tmp_path / f"{c.clip_id}.json")
        rows.append(f"{c.clip_id},{i - 1},{'train' if i else 'dev'}")
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    data = load_features_dir(tmp_path)
    assert [d.split for d in data] == ["valid", "train", "train"]
    assert data[2].label == 1.0 and data[2].features.audio.n_steps == 30


def _audio_relabel(clip: LabelledClip, dropped: tuple[str, ...]) -> float | None:
    """In ``_learnable`` only the audio carries the label: without audio it would be neutral."""
    return 0.0 if "audio" in dropped else clip.label


def test_modality_dropout_removes_modalities_the_way_explainers_do_and_relabels():
    import random

    from mmviz.training.modality_dropout import DROP_SETS, with_dropout

    data = _learnable(40)
    data[0] = LabelledClip(data[0].features, data[0].label, "train", {})
    unlabelled = lambda clip, dropped: None if clip is data[0] else _audio_relabel(clip, dropped)  # noqa: E731
    out = with_dropout(data, 1.0, unlabelled, random.Random(0))
    assert out[0][0] is data[0].features and out[0][1].fused == data[0].label, "a clip without a rule stays complete"
    seen = set()
    for clip, (feats, target) in zip(data[1:], out[1:]):
        gone = tuple(m for m, missing in (("text", not feats.words),
                                           ("audio", feats.audio is None or np.isnan(feats.audio.values).all()),
                                           ("visual", feats.visual is None or np.isnan(feats.visual.values).all())) if missing)
        assert gone, "rate 1.0 removes at least one modality from every clip"
        seen.add(gone)
        assert target.fused == (0.0 if "audio" in gone else clip.label)
        assert target.audio == target.fused  # head_targets="label" (default): every head on the (relabelled) label
    assert len(seen) >= 5 and seen <= set(DROP_SETS)
    whole = [(c.features, c.label) for c in data]
    assert [(f, t.fused) for f, t in with_dropout(data, 0.0, unlabelled, random.Random(0))] == whole
    assert [(f, t.fused) for f, t in with_dropout(data, 1.0, None, random.Random(0))] == whole


def test_a_model_trained_with_modality_dropout_answers_the_relabelled_question(tmp_path):
    """Without its audio (the only informative modality) the model should say "neutral"."""
    import dataclasses

    from mmviz.features.ablate import remove
    from mmviz_models.checkpoint import load_checkpoint

    data = _learnable(96)
    s = TrainSettings(epochs=8, batch_size=16, lr=3e-3, patience=10, train_fusion_tokens=False, modality_dropout=0.5)
    summary = train(tiny_config(), data, tmp_path, s, progress=False, log=lambda m: None, relabel=_audio_relabel)
    model, bb, _ = load_checkpoint(tmp_path)
    valid = [c for c in data if c.split == "valid"]
    labels = np.array([c.label for c in valid])
    assert summary["best_valid_mae"] < 0.8 * np.abs(labels - labels.mean()).mean()
    for how in ("mean", "absent"):
        no_audio = [dataclasses.replace(c, features=remove(c.features, ("audio",), how), label=0.0) for c in valid]
        assert evaluate(model, bb.tokenizer, no_audio)["fused"]["MAE"] < 0.6, how
    no_text = [dataclasses.replace(c, features=remove(c.features, ("text",))) for c in valid]
    assert evaluate(model, bb.tokenizer, no_text)["fused"]["MAE"] < 0.8 * np.abs(labels - labels.mean()).mean()
