"""Auxiliary objectives (issue #13): InfoNCE terms, Self-MM pseudo-labels, the shared-prompt aligner.

Each loss term is checked for the behaviour it exists for (InfoNCE lower for matched than for
shuffled pairs; the aligner raises cross-modal R@1 above chance and above its own start;
pseudo-labels move toward each modality's evidence); "off" leaves training bit-identical; each
option trains from one command and its checkpoint opens in the service the pages use.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmviz.cli import main
from mmviz.data.dataset import LabelledClip
from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import modality_alignment
from mmviz.inference.batching import make_inputs
from mmviz.records.serialize import save_record
from mmviz.testing.tiny import synthetic_clip, tiny_config, tiny_model
from mmviz.training.loop import TrainSettings, prepare_config, train
from mmviz.training.pseudo_labels import SelfMMLabeller, self_mm_label, start_labeller
from mmviz_models.backbone import load_backbone
from mmviz_models.checkpoint import load_checkpoint
from mmviz_models.config import LossWeights
from mmviz_models.fusion import FusionModel
from mmviz_models.losses import HeadTargets
from mmviz_models.mi import MIEstimator, info_nce, paired_info_nce

WORDS = ("red", "blue", "green", "gold", "dark", "light", "slow", "fast")
QUIET = {"progress": False, "log": lambda s: None}


def _paired(n: int = 72) -> list[LabelledClip]:
    """Clips whose voice and face share a hidden 2-d state z: pitch/loudness and smile/brightness are z.

    So a clip's audio identifies its video among other clips (a retrievable pair); the label is
    1.5·z0. Every third clip is validation.
    """
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        c = synthetic_clip(i, duration=1.0, text=f"{WORDS[i % 8]} {WORDS[(i // 8) % 8]}")
        z = rng.normal(size=2)
        for m, cols in ((c.audio, ("pitch_hz", "rms_db")), (c.visual, ("smile", "brightness"))):
            for k, name in enumerate(cols):
                m.values[:, m.names.index(name)] = z[k] + 0.1 * rng.normal(size=m.n_steps)
        out.append(LabelledClip(c, float(np.clip(1.5 * z[0], -3, 3)), "valid" if i % 3 == 0 else "train", {}))
    return out


@torch.no_grad()
def _audio_visual_r1(model: FusionModel, tok, clips: list[LabelledClip]) -> tuple[float, float]:
    """(R@1 audio→visual, chance) on the model's reported embeddings, by the library's alignment metric."""
    model.eval()
    o = model(make_inputs([c.features for c in clips], tok, model.cfg))
    rep = modality_alignment(o.emb_audio.numpy(), o.emb_visual.numpy(), names=("audio", "visual"))
    return rep.r_at_1_a_to_b, rep.chance_r_at_1


# ------------------------------------------------------------------ InfoNCE
def test_info_nce_is_lower_for_matched_than_for_shuffled_pairs():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(32, 16, generator=g)
    b = a + 0.3 * torch.randn(32, 16, generator=g)
    shuffled = b[torch.randperm(32, generator=g)]
    assert info_nce(a, b) < info_nce(a, shuffled) - 1.0
    assert float(info_nce(a, a)) < 0.05  # each row its own best match: near 0


def test_learned_projections_score_matched_pairs_of_different_widths_above_shuffled():
    """The estimator's critic (fused D-wide, text another width) learns to pick each clip's partner."""
    torch.manual_seed(0)
    fused = torch.randn(64, 32)
    text = fused @ torch.randn(32, 24) + 0.2 * torch.randn(64, 24)  # text carries the fused state, other basis
    est = MIEstimator({"fused": 32, "text": 24}, 16)
    opt = torch.optim.Adam(est.parameters(), lr=1e-2)
    out = SimpleNamespace(emb_fused=fused, emb_text=text, modality_present=torch.ones(64, 3, dtype=torch.bool))
    for _ in range(60):
        loss = est(out, (("fused", "text"),))["fused~text"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        matched = est(out, (("fused", "text"),))["fused~text"]
        out.emb_text = text[torch.randperm(64)]
        shuffled = est(out, (("fused", "text"),))["fused~text"]
    assert matched < 0.5 * shuffled, (float(matched), float(shuffled))


def test_clips_missing_a_modality_contribute_no_pair():
    a, b = torch.randn(6, 8), torch.randn(6, 8)
    ok = torch.tensor([True, False, True, True, False, True])
    assert torch.equal(paired_info_nce(a, b, ok), info_nce(a[ok], b[ok]))
    assert paired_info_nce(a, b, torch.tensor([True] + [False] * 5)) is None  # no negative to contrast with
    # through the model: a batch where only one clip has audio has no fused~audio term
    cfg = tiny_config(loss=LossWeights(mi=1.0, mi_pairs=1.0))
    model, tok = tiny_model(cfg)
    clips = [synthetic_clip(i, audio=(i == 0)) for i in range(4)]
    out = model(make_inputs(clips, tok, cfg))
    assert out.modality_present[:, 1].tolist() == [True, False, False, False]
    terms = model.mi(out, (("fused", "audio"), ("fused", "visual")))
    assert terms["fused~audio"] is None and terms["fused~visual"] is not None


# ------------------------------------------------------------------ Self-MM pseudo-labels
def _observe(lab: SelfMMLabeller, fused: list[float], audio: list[float], epoch: int) -> None:
    """One step over all items with 1-d representations (text/visual follow the fused one)."""
    f = torch.tensor(fused)[:, None]
    out = SimpleNamespace(emb_fused=f, emb_text=f, emb_audio=torch.tensor(audio)[:, None], emb_visual=f)
    lab.observe(range(len(fused)), out, torch.ones(len(fused), 3, dtype=torch.bool), epoch)


def test_pseudo_labels_move_toward_unimodal_evidence():
    labels = [2.0, 1.0, -1.0, -2.0]
    lab = SelfMMLabeller(labels)
    _observe(lab, [1, 1, -1, -1], [1, 1, -1, -1], epoch=0)  # epoch 1: memory and centres only
    assert torch.equal(lab.labels["audio"], torch.tensor(labels))
    # epoch 2: item 2 (label -1) now sounds like the positive clips, item 1 (label +1) like the negative ones
    _observe(lab, [1, 1, -1, -1], [1, -1, 1, -1], epoch=1)
    audio = lab.labels["audio"]
    assert audio[2] > -1.0 and audio[1] < 1.0, audio
    assert torch.allclose(lab.labels["visual"], torch.tensor(labels)), "a modality that agrees keeps the fused label"
    # momentum: at epoch n the new value has weight 2/(n+1), so the label moved only part of the way
    assert -1.0 < float(audio[2]) < 3.0
    assert float(self_mm_label(torch.tensor([-1.0]), torch.tensor([1e8]), torch.tensor([-1.0]))) == 3.0  # clipped


def test_pseudo_labels_keep_real_targets_unless_asked():
    lab = SelfMMLabeller([1.0, -1.0])
    lab.labels["audio"] = torch.tensor([2.5, -2.5])
    nan = float("nan")
    y = HeadTargets(torch.tensor([1.0, -1.0]), torch.tensor([0.5, nan]), torch.tensor([0.7, nan]), torch.tensor([0.0, 0.0]))
    usable = torch.tensor([[True, True, True], [True, True, False]])
    kept = lab.targets([0, 1], y, usable, owns_targets=True)  # "planted": real valences stay, unknown ones filled
    assert kept.audio.tolist() == [pytest.approx(0.7), -2.5] and kept.visual.tolist() == [0.0, 0.0]
    label_mode = lab.targets([0, 1], y, usable, owns_targets=False)  # "label": unimodal targets are the clip label
    assert label_mode.audio.tolist() == [2.5, -2.5]
    lab.replace_all = True
    assert lab.targets([0, 1], y, usable, owns_targets=True).audio.tolist() == [2.5, -2.5]
    assert torch.equal(kept.fused, y.fused)
    not_usable = lab.targets([0, 1], y, torch.zeros(2, 3, dtype=torch.bool), owns_targets=False)
    assert not_usable.audio[0] == pytest.approx(0.7), "a modality-dropped item keeps its targets"


# ------------------------------------------------------------------ off = today, bit for bit
def test_off_builds_the_same_model_and_trains_bit_identically(tmp_path):
    base, _ = tiny_model(tiny_config())
    off, _ = tiny_model(tiny_config(aligner="none", loss=LossWeights(mi=0.0, mi_pairs=0.0, align=0.5)))
    assert off.aligner is None and off.mi is None
    assert list(base.trainable_state_dict()) == list(off.trainable_state_dict())
    data = _paired(24)
    s = TrainSettings(epochs=1, batch_size=8, lr=3e-3)
    a = train(tiny_config(), data, tmp_path / "a", s, **QUIET)
    # an align weight without the aligner, zero MI weights and no pseudo-labels change nothing
    b = train(tiny_config(loss=LossWeights(align=0.5)), data, tmp_path / "b", TrainSettings(epochs=1, batch_size=8, lr=3e-3,
              pseudo_labels="none"), **QUIET)
    assert a["history"] == b["history"]
    ma, _, _ = load_checkpoint(tmp_path / "a" / "last")
    mb, _, _ = load_checkpoint(tmp_path / "b" / "last")
    sa, sb = ma.trainable_state_dict(), mb.trainable_state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------ training with each option
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One short training run per option, each from the same data and seed."""
    root = tmp_path_factory.mktemp("aux")
    data = _paired()
    fast = dict(batch_size=16, lr=1e-2, patience=100)
    out = {}
    out["aligner"] = train(tiny_config(aligner="shared-prompt", loss=LossWeights(align=1.0)), data, root / "aligner",
                           TrainSettings(epochs=12, **fast), **QUIET)
    out["mi"] = train(tiny_config(loss=LossWeights(mi=0.5, mi_pairs=0.5)), data, root / "mi",
                      TrainSettings(epochs=3, **fast), **QUIET)
    out["self-mm"] = train(tiny_config(), data, root / "self-mm", TrainSettings(epochs=3, pseudo_labels="self-mm", **fast),
                           **QUIET)
    return root, data, out


def test_the_aligner_raises_cross_modal_retrieval_above_chance_and_its_start(runs):
    root, data, summaries = runs
    valid = [c for c in data if c.split == "valid"]
    cfg = prepare_config(tiny_config(aligner="shared-prompt", loss=LossWeights(align=1.0)), [c for c in data if c.split == "train"])
    torch.manual_seed(0)  # train() seeds like this right before building the model
    bb = load_backbone(cfg)
    start, chance = _audio_visual_r1(FusionModel(cfg, bb.lm), bb.tokenizer, valid)
    model, bb, _ = load_checkpoint(root / "aligner" / "last")
    end, _ = _audio_visual_r1(model, bb.tokenizer, valid)
    assert end >= 4 * chance and end > start + 0.2, (start, end, chance)
    aux = [h["train_aux"]["align"] for h in summaries["aligner"]["history"]]
    assert aux[-1] < aux[0], aux
    with torch.no_grad():
        o = model(make_inputs([c.features for c in valid[:2]], bb.tokenizer, model.cfg))
    assert o.emb_text.shape == o.emb_audio.shape == o.emb_visual.shape == (2, model.cfg.av_dim), "one space"


def test_mi_terms_fall_while_training(runs):
    _, _, summaries = runs
    hist = summaries["mi"]["history"]
    assert hist[-1]["train_aux"]["mi"] < hist[0]["train_aux"]["mi"], hist
    assert hist[-1]["train_aux"]["mi_pairs"] < hist[0]["train_aux"]["mi_pairs"], hist


def test_self_mm_run_moves_labels_and_keeps_its_state(runs, tmp_path):
    import shutil

    root, data, summaries = runs
    shift = summaries["self-mm"]["pseudo_label_shift"]
    assert set(shift) == {"text", "audio", "visual"} and max(shift.values()) > 0.01, shift
    assert (root / "self-mm" / "last" / "pseudo_labels.safetensors").exists()
    # resuming restores the labels (a fresh labeller would start every label at the fused one again)
    train_labels = [c.label for c in data if c.split == "train"]
    restored = start_labeller("self-mm", train_labels, resume_from=root / "self-mm" / "last")
    assert restored.summary() == pytest.approx(shift)
    with pytest.raises(MmvizError, match="other training data"):
        start_labeller("self-mm", train_labels[1:], resume_from=root / "self-mm" / "last")
    shutil.copytree(root / "self-mm", tmp_path / "run")
    logs: list[str] = []
    again = train(tiny_config(), data, tmp_path / "run", TrainSettings(epochs=4, batch_size=16, lr=1e-2, patience=100,
                  pseudo_labels="self-mm"), resume=True, progress=False, log=logs.append)
    assert logs[0].startswith("resuming after epoch 3") and again["epochs_run"] == 4


@pytest.mark.parametrize("name", ["aligner", "mi", "self-mm"])
def test_each_checkpoint_reloads_and_opens_in_the_service(runs, name, tmp_path):
    """What the pages do with a checkpoint: analyse a clip, build its report, score a dataset, align its spaces."""
    from mmviz.app_service.datasets import score_clips
    from mmviz.app_service.service import AppService
    from mmviz.app_service.view_extras import alignment_table
    from mmviz.report import clip_report
    from mmviz.testing.tiny import clip_for

    root, data, _ = runs
    model, bb, _ = load_checkpoint(root / name)
    clips = [c.features for c in data[:6]]
    with torch.no_grad():
        again, _, _ = load_checkpoint(root / name)
        x = make_inputs(clips, bb.tokenizer, model.cfg)
        assert torch.equal(model(x).pred_fused, again(x).pred_fused)
    svc = AppService(str(root / name), tmp_path)
    res = svc.analyze(clip_for(svc.runner, 0))
    assert np.isfinite(res.inspection.predictions.fused)
    assert "checkpoint hash" in clip_report(res, svc.provenance(), seed=0)
    ds = score_clips(svc, "six", clips, labels=[c.label for c in data[:6]])
    table = alignment_table(ds)
    assert "audio ↔ visual" in set(table["pair"]), table


# ------------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def features_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("feats")
    rows = ["clip_id,label,split"]
    for c in _paired(12):
        save_record(c.features, d / f"{c.features.clip_id}.json")
        rows.append(f"{c.features.clip_id},{c.label},{c.split}")
    (d / "metadata.csv").write_text("\n".join(rows) + "\n")
    return d


@pytest.mark.parametrize("options,check", [
    (["--aux", "mi", "--mi-weight", "0.2"], lambda cfg: cfg.loss.mi == 0.2 and cfg.loss.mi_pairs == 0.05),
    (["--pseudo-labels", "self-mm"], lambda cfg: cfg.aligner == "none" and cfg.loss.mi == 0),
    (["--aligner", "shared-prompt", "--align-weight", "0.3", "--aligner-prompts", "3"],
     lambda cfg: cfg.aligner == "shared-prompt" and cfg.loss.align == 0.3 and cfg.aligner_prompts == 3),
], ids=["mi", "self-mm", "aligner"])
def test_each_option_trains_from_one_command(features_folder, tmp_path, options, check, capsys):
    out = tmp_path / "ckpt"
    argv = ["train", str(features_folder), "--out", str(out), "--backbone", "tiny-random-llama", "--fusion-tokens", "2",
            "--epochs", "1", "--batch-size", "8"]
    assert main(argv + options) == 0, capsys.readouterr().err
    model, _, _ = load_checkpoint(out)
    assert check(model.cfg), model.cfg


@pytest.mark.parametrize("options,words", [
    (["--aux", "cpc"], ["--aux", "none, mi", "'cpc'"]),
    (["--pseudo-labels", "self_mm"], ["--pseudo-labels", "self-mm"]),
    (["--aligner", "prompt"], ["--aligner", "shared-prompt"]),
    (["--mi-weight", "0.2"], ["--mi-weight", "--aux mi"]),
    (["--align-weight", "0.2"], ["--align-weight", "--aligner shared-prompt"]),
    (["--pseudo-labels-replace"], ["--pseudo-labels self-mm"]),
    (["--aux", "mi", "--mi-pairs-weight", "-1"], ["--mi-pairs-weight", ">= 0"]),
], ids=["aux", "pseudo", "aligner", "mi-weight-alone", "align-weight-alone", "replace-alone", "negative"])
def test_wrong_options_are_one_clear_message(options, words, tmp_path, capsys):
    rc = main(["train", str(tmp_path), "--out", str(tmp_path / "o")] + options)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "usage:" not in err, err
    assert all(w in err for w in words), err


def test_cli_choices_match_the_library():
    from mmviz.commands import aux_options
    from mmviz.training.pseudo_labels import PSEUDO_LABELS
    from mmviz_models.config import ALIGNERS

    assert aux_options.PSEUDO_LABELS == PSEUDO_LABELS and aux_options.ALIGNERS == ALIGNERS
