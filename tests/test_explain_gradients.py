"""Integrated gradients per modality, time attributions and word attributions.

Known answers come from the toy models of ``test_explain_shapley`` (linear in the attributed
inputs, so integrated gradients is exact whatever the step count).
"""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.explain import ClipContext, ExplainSettings, get_explainer
from mmviz.explain.integrated_gradients import completeness_error
from mmviz.explain.word_attribution import token_to_word
from mmviz.testing.tiny import synthetic_clip
from test_explain_shapley import TARGET_WEIGHT, WINDOW, toy_runner, word_token

IG, TIME, WORDS = get_explainer("integrated_gradients"), get_explainer("time_attribution"), get_explainer("word_attribution")


@pytest.fixture(scope="module")
def audio_toy():
    return toy_runner("audio_window")


def test_ig_totals_and_small_delta_on_the_tiny_model(tiny_runner):
    clip = synthetic_clip(0)
    # the text path reaches the fused head twice (fusion tokens and the mean-text skip): a curved
    # path that needs more steps than the audio+visual one to converge (32 steps: 0.26, 128: 0.003)
    rec = IG.explain(tiny_runner, clip, ExplainSettings(ig_steps=128, text_ig=True))
    assert set(rec.totals) == {"text", "audio", "visual"}
    assert abs(rec.deltas["audio+visual"]) < 1e-4
    assert completeness_error(rec) < 0.1
    av = rec.totals["audio"] + rec.totals["visual"]
    assert av == pytest.approx(rec.prediction - rec.path_baselines["audio+visual"] + rec.deltas["audio+visual"], abs=1e-6)


def test_one_av_pass_is_shared_by_ig_and_time(tiny_runner, monkeypatch):
    clip = synthetic_clip(1)
    ctx = ClipContext.build(tiny_runner, clip, ExplainSettings(ig_steps=8))
    ig = IG.explain(tiny_runner, clip, context=ctx)
    calls = []
    orig = type(tiny_runner.model).forward
    monkeypatch.setattr(type(tiny_runner.model), "forward", lambda self, x, **kw: calls.append(1) or orig(self, x, **kw))
    t = TIME.explain(tiny_runner, clip, context=ctx)
    assert calls == []  # reused
    assert sum(c.values.sum() for c in t) == pytest.approx(ig.totals["audio"] + ig.totals["visual"], abs=1e-9)


def test_time_attribution_peaks_in_the_window_the_model_reads(audio_toy):
    clip = synthetic_clip(2)
    rec = TIME.explain(audio_toy, clip, ExplainSettings(window=0.5))
    a = rec.get("audio")
    inside = (a.times >= WINDOW[0]) & (a.times <= WINDOW[1])
    assert np.abs(a.values[~inside]).max() < 1e-6 and np.abs(rec.get("visual").values).max() < 1e-6
    expected = 0.5 * clip.audio.values[inside, 0]  # linear model, mean baseline 0: exact
    np.testing.assert_allclose(a.values[inside], expected, atol=1e-5)
    assert a.feature_values.shape == (30, 4) and np.abs(a.feature_values[:, 1:]).max() < 1e-6
    m, start, end = rec.top_window
    assert m == "audio" and WINDOW[0] - 0.5 <= start <= WINDOW[1] and abs(rec.delta) < 1e-5


def test_occlusion_finds_the_window_too(audio_toy):
    rec = TIME.explain(audio_toy, synthetic_clip(2), ExplainSettings(time_method="occlusion", occlusion_window=0.5))
    a = rec.get("audio")
    top = a.times[np.argmax(np.abs(a.values))]
    assert WINDOW[0] - 0.5 <= top <= WINDOW[1] + 0.5
    assert np.abs(rec.get("visual").values).max() < 1e-6 and rec.method == "occlusion"


def test_word_attribution_finds_the_one_word_that_matters():
    clip = synthetic_clip(3, text="this movie was really good")
    runner = toy_runner("audio_window")
    runner = toy_runner("word", target_token=word_token(runner, "good"))
    rec = WORDS.explain(runner, clip, ExplainSettings(word_method="integrated_gradients", word_steps=4))
    assert rec.words == ("this", "movie", "was", "really", "good") and rec.method == "integrated_gradients"
    np.testing.assert_allclose(rec.scores, [0, 0, 0, 0, TARGET_WEIGHT], atol=1e-5)
    assert abs(rec.delta) < 1e-5 and rec.baseline_prediction == pytest.approx(0.0, abs=1e-5)
    assert rec.steps == 4 and rec.baseline == "pad" and rec.completeness < 1e-5
    assert rec.word_times.shape == (5, 2) and len(rec.tokens) == len(rec.token_scores) == len(rec.token_word)
    shap = get_explainer("shapley").explain(runner, clip)
    assert shap.values["text"] == pytest.approx(TARGET_WEIGHT, abs=1e-5) and shap.values["audio"] == 0.0


def test_tokens_map_to_words(tiny_runner):
    words = ("unbelievably", "good", "acting,", "wasn't", "it")
    text = " ".join(words)
    ids = tiny_runner.tokenizer(text, add_special_tokens=False)["input_ids"]
    tw = token_to_word(text, words, np.asarray(ids), tiny_runner.tokenizer, 64)
    assert len(tw) == len(ids) and (tw >= 0).all()
    assert list(np.unique(tw)) == [0, 1, 2, 3, 4] and (np.diff(tw) >= 0).all()


def test_no_words_gives_an_empty_word_record(tiny_runner):
    clip = synthetic_clip(4, text="")
    rec = WORDS.explain(tiny_runner, clip)
    assert rec.words == () and rec.scores.shape == (0,)
    ig = IG.explain(tiny_runner, clip, ExplainSettings(text_ig=True))
    assert ig.totals["text"] == 0.0


def test_by_default_integrated_gradients_skip_the_text_path_and_say_so(tiny_runner, monkeypatch):
    from mmviz.explain import word_attribution

    clip = synthetic_clip(2)
    ctx = ClipContext.build(tiny_runner, clip, ExplainSettings())
    ran = []
    monkeypatch.setattr(word_attribution, "_compute_lig", lambda c, steps: ran.append(steps))
    rec = IG.explain(tiny_runner, clip, context=ctx)
    assert ran == [] and set(rec.totals) == {"audio", "visual"} and set(rec.deltas) == {"audio+visual"}
    assert any("text path" in n for n in ctx.notes)


@pytest.mark.slow
def test_word_attribution_with_the_real_lm():
    import torch

    from mmviz.inference.runner import ModelRunner
    from mmviz_models.backbone import load_backbone
    from mmviz_models.config import FusionConfig
    from mmviz_models.fusion import FusionModel
    from mmviz.testing.tiny import AUDIO_NAMES, VISUAL_NAMES

    cfg = FusionConfig(audio_features=AUDIO_NAMES, visual_features=VISUAL_NAMES, dropout=0.0)
    bb = load_backbone(cfg)
    torch.manual_seed(0)
    runner = ModelRunner(FusionModel(cfg, bb.lm).eval(), bb.tokenizer, "random", bb.name, torch.device("cpu"))
    clip = synthetic_clip(0, text="the ending made me smile")
    rec = WORDS.explain(runner, clip, ExplainSettings(word_method="integrated_gradients", word_steps=8))
    assert len(rec.scores) == 5 and np.isfinite(rec.scores).all() and (rec.token_word >= 0).all()
    assert rec.scores.sum() == pytest.approx(rec.token_scores.sum())
