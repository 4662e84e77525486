"""Exact modality Shapley values: efficiency, known answers on toy models, absent modalities, batching.

Also home of the toy models shared by the other ``test_explain_*`` files: the tiny fusion model
with its fused prediction replaced by a function whose right answer is known by hand
(Captum's ``BasicModel`` idea).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmviz.errors import MmvizError
from mmviz.explain import ClipContext, ExplainSettings, get_explainer
from mmviz.explain.record import MODALITIES, ModalityShapley
from mmviz.explain.shapley import shapley_from_values
from mmviz.explain.verdict import verdict, verdict_from_values
from mmviz.inference.runner import ModelRunner
from mmviz.records.serialize import load_record, records_equal, save_record
from mmviz.testing.tiny import synthetic_clip, tiny_config
from mmviz_models.backbone import load_backbone
from mmviz_models.fusion import FusionModel

WINDOW = (1.0, 1.5)  # seconds: the audio window the "audio_window" toy reads
TARGET_WEIGHT = 2.0


class ToyFusion(FusionModel):
    """The tiny fusion model, but ``pred_fused`` is a known function of the inputs.

    "audio_window": 0.5 * sum of the normalised first audio feature over steps in WINDOW.
    "word": sum over real text tokens of the last LM state's coordinate 0; the LM layers are
        made identities and only one token's embedding has a non-zero coordinate 0, so the
        prediction is TARGET_WEIGHT per occurrence of that token and nothing else matters.
    Everything else (attention, embeddings, other heads) is the real tiny model's.
    """

    toy = "audio_window"

    def forward(self, x, *, collect=False, text_embeds=None, prefix=None):
        if prefix is None:
            prefix = self.encode_text(x.input_ids, x.text_mask, text_embeds)
        out = super().forward(x, collect=collect, prefix=prefix)
        if self.toy == "audio_window":
            z = self.normalise(x.audio.float(), "audio")[..., 0]  # (B, Ta)
            w = ((x.audio_times >= WINDOW[0]) & (x.audio_times <= WINDOW[1]) & x.audio_mask).float()  # (B, Ta)
            pred = 0.5 * (z * w).sum(1)
        else:
            pred = (prefix.text_states[..., 0] * prefix.text_mask.float()).sum(1)  # (B,)
        return dataclasses.replace(out, pred_fused=pred)


def toy_runner(toy: str = "audio_window", target_token: int | None = None) -> ModelRunner:
    cfg = tiny_config()
    bb = load_backbone(cfg)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = ToyFusion(cfg, bb.lm).eval()
    model.toy = toy
    if toy == "word":
        with torch.no_grad():
            for layer in model.layers:
                layer.lm_layer.self_attn.o_proj.weight.zero_()
                layer.lm_layer.mlp.down_proj.weight.zero_()
            model.embed_tokens.weight[:, 0] = 0.0
            model.embed_tokens.weight[target_token, 0] = TARGET_WEIGHT
    return ModelRunner(model, bb.tokenizer, f"toy-{toy}", cfg.backbone, torch.device("cpu"))


def word_token(runner, word: str) -> int:
    ids = runner.tokenizer(" " + word, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, f"{word!r} is not one token"
    return int(ids[0])


@pytest.fixture(scope="module")
def audio_toy():
    return toy_runner("audio_window")


SH = get_explainer("shapley")


@pytest.mark.parametrize("baseline", ["mean", "zeros", "absent", "clip"])
def test_shapley_sums_to_full_minus_none(tiny_runner, baseline):
    clip, other = synthetic_clip(0), synthetic_clip(5, duration=2.0, text="terrible")
    ctx = ClipContext.build(tiny_runner, clip, ExplainSettings(baseline=baseline), other=other)
    rec = SH.explain(tiny_runner, clip, context=ctx)
    assert sum(rec.values.values()) == pytest.approx(rec.full - rec.base, abs=1e-12)
    assert rec.subset_values["text+audio+visual"] == rec.full and rec.subset_values["none"] == rec.base
    singles = sum(rec.subset_values[m] - rec.base for m in MODALITIES)
    assert rec.interaction == pytest.approx(rec.full - rec.base - singles, abs=1e-12)
    assert rec.baseline == baseline and rec.seed == 0


def test_shapley_full_matches_the_plain_prediction(tiny_runner):
    clip = synthetic_clip(1)
    rec = SH.explain(tiny_runner, clip)
    assert rec.full == pytest.approx(tiny_runner.inspect([clip])[0].predictions.fused, abs=1e-5)


def test_shapley_from_values_is_exact_on_a_hand_example():
    v = {(): 0.0, ("text",): 1.0, ("audio",): 2.0, ("visual",): 0.0, ("text", "audio"): 4.0, ("text", "visual"): 1.0,
         ("audio", "visual"): 2.0, ("text", "audio", "visual"): 4.0}
    phi = shapley_from_values(v)  # visual is a null player; text and audio share their synergy of 1 equally
    assert phi == {"text": 1.5, "audio": 2.5, "visual": 0.0}


def test_audio_only_model_gives_all_credit_to_audio(audio_toy):
    rec = SH.explain(audio_toy, synthetic_clip(2))
    assert rec.values["text"] == 0.0 and rec.values["visual"] == 0.0
    assert rec.values["audio"] == pytest.approx(rec.full - rec.base, abs=1e-12)
    assert rec.base == 0.0 and abs(rec.full) > 0.1  # mean baseline: normalised audio 0 -> prediction 0
    v = verdict(rec)
    assert v.kind == "dominant" and v.dominant == "audio" and "voice" in v.text


def test_one_batched_forward_and_two_text_passes(tiny_runner, monkeypatch):
    clip = synthetic_clip(3)
    ctx = ClipContext.build(tiny_runner, clip)
    calls = []
    orig = type(tiny_runner.model).forward
    monkeypatch.setattr(type(tiny_runner.model), "forward", lambda self, x, **kw: calls.append(x.batch_size) or orig(self, x, **kw))
    SH.explain(tiny_runner, clip, context=ctx)
    assert calls == [8]
    assert ctx.n_text_passes == 2  # the real transcript and the empty one


def test_absent_modality_gets_exactly_zero(tiny_runner):
    clip = synthetic_clip(4, visual=False)
    ctx = ClipContext.build(tiny_runner, clip)
    rec = SH.explain(tiny_runner, clip, context=ctx)
    assert rec.present == ("text", "audio") and rec.values["visual"] == 0.0
    assert sum(rec.values.values()) == pytest.approx(rec.full - rec.base, abs=1e-12)
    assert any("no video" in n for n in ctx.notes)
    assert "missing" in verdict(rec).text


def test_clip_with_nothing_is_a_user_error(tiny_runner):
    clip = synthetic_clip(5, audio=False, visual=False, text="")
    with pytest.raises(MmvizError, match="nothing to explain"):
        SH.explain(tiny_runner, clip)


def test_clip_baseline_needs_another_clip(tiny_runner):
    with pytest.raises(MmvizError, match="another clip"):
        SH.explain(tiny_runner, synthetic_clip(0), ExplainSettings(baseline="clip"))


@pytest.mark.parametrize("phi,kind,top", [
    ({"text": 1.0, "audio": 0.1, "visual": 0.05}, "dominant", "text"),
    ({"text": 0.5, "audio": 0.4, "visual": 0.3}, "complementary", "text"),
    ({"text": 0.8, "audio": -0.5, "visual": 0.0}, "conflicting", "text"),
    ({"text": 0.9, "audio": -0.05, "visual": 0.0}, "dominant", "text"),  # a non-salient opposite push is no conflict
])
def test_verdict_rule(phi, kind, top):
    k, d, text, shares = verdict_from_values(phi)
    assert (k, d) == (kind, top)
    assert sum(shares.values()) == pytest.approx(1.0) and text


def test_record_round_trip(tiny_runner, tmp_path):
    rec = SH.explain(tiny_runner, synthetic_clip(0))
    assert isinstance(rec, ModalityShapley)
    save_record(rec, tmp_path / "s")
    back = load_record(tmp_path / "s")
    assert records_equal(rec, back) and back.settings == rec.settings
    assert np.isfinite(back.interaction)
