"""`mmviz refit-heads`: a new text head and branch distances, the fusion path copied bit for bit."""

from __future__ import annotations

import json

import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from mmviz.demo.corpus import generate_corpus

    out = tmp_path_factory.mktemp("corpus")
    generate_corpus(out, 32, seed=3, keep_media=False)
    return out


def test_refit_keeps_the_fused_head_and_gives_the_text_head_its_own_layer_and_distances(tmp_path, corpus, shared_dir):
    from mmviz.data.dataset import load_features_dir
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.inference.runner import ModelRunner
    from mmviz.inference.tiny import tiny_config, tiny_model
    from mmviz.training.refit import refit_heads
    from mmviz_models.checkpoint import save_checkpoint

    model, _ = tiny_model(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES))
    save_checkpoint(model, tmp_path / "before")
    rep = refit_heads(tmp_path / "before", tmp_path / "after", corpus, shared_dir, layer=1, log=lambda m: None,
                      vader_sample=200)
    assert rep["text_head_layer"] == 1 and set(rep["distance"]) == {"text", "audio", "visual"}
    assert json.loads((tmp_path / "after" / "refit.json").read_text())["text_head_layer"] == 1
    card = (tmp_path / "after" / "MODEL_CARD.md").read_text()
    assert "Refitted heads" in card and rep["checkpoint_hash"] in card and "layer 1" in card
    if shared_dir is not None:  # the card carries the real-label figures it was judged on
        assert set(rep["mosi_dev"]) == {"text head", "fused head"} and "CMU-MOSI dev" in card

    before, after = ModelRunner.from_checkpoint(tmp_path / "before"), ModelRunner.from_checkpoint(tmp_path / "after")
    assert after.model.cfg.text_head_layer == 1 and after.model.cfg.branch_distance
    clips = [c.features for c in load_features_dir(corpus)[:6]]
    with torch.no_grad():
        a, b = before.model(before.inputs(clips)), after.model(after.inputs(clips))
    torch.testing.assert_close(a.pred_fused, b.pred_fused, atol=2e-3, rtol=0)  # float16 storage only
    assert not torch.allclose(a.pred_text, b.pred_unshrunk[:, 0])  # the text head was refitted
    assert torch.isfinite(b.distance).all() and float(b.distance[:, 1:].median()) < 1.5  # its own training data is near


def test_branch_heads_refit_reads_each_modality_alone(tmp_path, corpus):
    """``--branch-heads``: the audio and visual heads move to the separate view (a new face no
    longer moves the audio head), are refitted on the planted valences, and the fused head is kept."""
    from mmviz.data.dataset import load_features_dir
    from mmviz.features.audio import AUDIO_FEATURE_NAMES
    from mmviz.features.visual import VISUAL_FEATURE_NAMES
    from mmviz.inference.runner import ModelRunner
    from mmviz.inference.tiny import tiny_config, tiny_model
    from mmviz.training.refit import refit_heads
    from mmviz_models.checkpoint import save_checkpoint

    model, _ = tiny_model(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES,
                                      branch_view="mixed"))
    save_checkpoint(model, tmp_path / "before")
    rep = refit_heads(tmp_path / "before", tmp_path / "after", corpus, None, layer=1, log=lambda m: None,
                      branch_heads=True)
    assert set(rep["branch_heads"]) == {"audio", "visual"}
    assert all(f["valid_mae"] > 0 and f["items"] >= 20 for f in rep["branch_heads"].values())
    assert "audio head cannot see the face" in (tmp_path / "after" / "MODEL_CARD.md").read_text()
    before, after = ModelRunner.from_checkpoint(tmp_path / "before"), ModelRunner.from_checkpoint(tmp_path / "after")
    assert before.model.cfg.branch_view == "mixed" and after.model.cfg.branch_view == "separate"
    clips = load_features_dir(corpus)
    x = after.inputs([c.features for c in clips[:4]])
    faces = after.inputs([c.features for c in clips[4:8]])
    swapped = type(x)(**{**x.__dict__, **{k: getattr(faces, k) for k in ("visual", "visual_mask", "visual_times")}})
    with torch.no_grad():
        a, b, old = after.model(x), after.model(swapped), before.model(before.inputs([c.features for c in clips[:4]]))
    torch.testing.assert_close(a.pred_unshrunk[:, 1], b.pred_unshrunk[:, 1])  # the audio head ignores the face
    torch.testing.assert_close(a.pred_fused, old.pred_fused, atol=2e-3, rtol=0)  # fused path kept (float16 storage)
    assert not torch.allclose(a.pred_unshrunk[:, 1], old.pred_audio)  # the audio head was refitted


def test_refit_heads_refuses_a_corpus_too_small_for_the_distances(tmp_path, corpus):
    from mmviz.cli import main

    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "metadata.csv").write_text("clip_id,label,split\n")
    assert main(["refit-heads", "tiny", "--corpus", str(tmp_path / "tiny"), "--out", str(tmp_path / "o")]) == 2


def test_the_unseen_speaker_factor_is_the_one_that_fits_out_of_group_predictions():
    """Predictions that carry over to new speakers keep their scale; ones that are mostly a
    speaker's offset are shrunk toward neutral; ones that carry nothing are zeroed."""
    import numpy as np

    from mmviz.training.refit import shrink_for_unseen

    rng = np.random.default_rng(0)
    y = rng.uniform(-3, 3, 400)
    assert shrink_for_unseen(y.copy(), y) == 1.0
    offset = np.repeat(rng.normal(0, 2.5, 8), 50)  # eight speakers, each read with its own offset
    assert 0.2 < shrink_for_unseen(0.5 * y + offset, y) < 0.9
    assert shrink_for_unseen(rng.normal(0, 2, 400), y) <= 0.1
