"""Word attributions: Captum LayerIntegratedGradients on the LM's input embeddings.

The attributed layer is ``model.embed_tokens``; the baseline replaces every token of the
transcript with the tokenizer's pad token, keeping the positions and the attention mask (a
same-length path is what integrated gradients needs; see ``ablate`` for why Shapley removes
text differently). Audio and video stay as they are: they are passed to the forward
function as additional arguments. All ``settings.word_steps`` steps run as one batch; each
step is a full pass of the LM (the text must be re-read), which makes this the most
expensive part of an explanation.

Token attributions (summed over the embedding width) are then summed per transcript word:
the transcript is ``" ".join(words)`` and each token belongs to the word that holds its first
non-space character (tokenizer offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from mmviz.explain.base import ClipContext, Explainer, register_explainer, register_pass
from mmviz.explain.record import ExplainSettings, WordAttributions
from mmviz_models.fusion import FusionInputs


@dataclass(frozen=True)
class TextPath:
    """Result of the text LIG pass (internal)."""

    token_ids: np.ndarray  # (L,) real tokens only
    token_scores: np.ndarray  # (L,) float64
    delta: float
    prediction: float
    baseline_prediction: float


def pad_id(tokenizer) -> int:
    pid = getattr(tokenizer, "pad_token_id", None)
    if pid is None:
        pid = getattr(tokenizer, "eos_token_id", None)
    return int(pid if pid is not None else 0)


def text_integrated_gradients(ctx: ClipContext) -> TextPath | None:
    """LIG over the transcript's token embeddings (the shared pass "text_ig"); None without words."""
    if "text" not in ctx.present:
        return None
    return ctx.shared("text_ig")


@register_pass("text_ig")
def _text_ig(ctx: ClipContext) -> TextPath:
    s = ctx.settings
    x = ctx.x
    model = ctx.model

    def forward(input_ids, text_mask, audio, audio_mask, audio_times, visual, visual_mask, visual_times):
        xi = FusionInputs(input_ids, text_mask, audio, audio_mask, audio_times, visual, visual_mask, visual_times)
        return model(xi).pred_fused  # (B,)

    baseline = torch.full_like(x.input_ids, pad_id(ctx.runner.tokenizer))
    extra = (x.text_mask, x.audio, x.audio_mask, x.audio_times, x.visual, x.visual_mask, x.visual_times)
    ibs = s.batch_size if s.word_steps > s.batch_size else None
    with ctx.runner.lock, torch.enable_grad():
        attr, delta = LayerIntegratedGradients(forward, model.embed_tokens).attribute(
            x.input_ids, baselines=baseline, additional_forward_args=extra, n_steps=s.word_steps, method=s.ig_method,
            internal_batch_size=ibs, return_convergence_delta=True,
        )
    mask = x.text_mask[0].cpu().numpy()
    tok = attr[0].detach().double().sum(-1).cpu().numpy()[mask]  # (L,)
    d = float(delta.reshape(-1)[0])
    f = ctx.prediction
    return TextPath(x.input_ids[0].cpu().numpy()[mask], tok, d, f, f - (float(tok.sum()) - d))


def token_to_word(text: str, words: tuple[str, ...], token_ids: np.ndarray, tokenizer, max_tokens: int) -> np.ndarray:
    """(L,) index of the word each token belongs to (-1: none), via the tokenizer's offsets."""
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    starts_a = np.asarray(starts)
    ends_a = starts_a + np.asarray([len(w) for w in words], dtype=int)
    try:
        enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False, truncation=True, max_length=max_tokens)
        offsets, ids = enc["offset_mapping"], enc["input_ids"]
        if list(ids) != [int(t) for t in token_ids]:
            raise ValueError("tokenisation differs")
    except (NotImplementedError, ValueError, KeyError, TypeError):
        offsets, cursor = [], 0  # slow tokenizer: walk the decoded pieces along the text
        for t in token_ids:
            piece = tokenizer.decode([int(t)])
            a = text.find(piece.strip(), cursor) if piece.strip() else cursor
            a = cursor if a < 0 else a
            offsets.append((a, a + len(piece.strip())))
            cursor = a + len(piece.strip())
    out = np.full(len(token_ids), -1, dtype=np.int64)
    for i, (a, b) in enumerate(offsets):
        c = next((k for k in range(a, b) if k < len(text) and not text[k].isspace()), None)
        if c is None:
            continue
        j = int(np.searchsorted(starts_a, c, side="right") - 1)
        if 0 <= j < len(words) and c < ends_a[j]:
            out[i] = j
    return out


@register_explainer
class WordAttributionExplainer(Explainer[WordAttributions]):
    """Per-word contributions of the transcript (LayerIntegratedGradients, pad baseline)."""

    name = "word_attribution"
    record_type = WordAttributions
    field = "word_attributions"
    uses = ("text_ig",)
    needs_gradients = True

    def applies_to(self, model) -> bool:
        return super().applies_to(model) and hasattr(model, "embed_tokens")

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise + validate
        s = ctx.settings
        words = tuple(w.text for w in ctx.features.words)
        times = np.asarray([(w.start, w.end) for w in ctx.features.words], dtype=np.float64).reshape(-1, 2)
        tp = text_integrated_gradients(ctx)  # compute
        if tp is None:
            return WordAttributions(words, times, np.zeros(len(words)), (), np.zeros(0), np.zeros(0, np.int64), (),
                                    0.0, ctx.prediction, ctx.prediction, s.word_steps, s.ig_method, s, s.seed)
        tw = token_to_word(ctx.features.transcript, words, tp.token_ids, ctx.runner.tokenizer, ctx.model.cfg.max_text_tokens)
        scores = np.zeros(len(words), dtype=np.float64)
        np.add.at(scores, tw[tw >= 0], tp.token_scores[tw >= 0])
        last = int(tw.max()) if (tw >= 0).any() else -1
        truncated = words[last + 1 :] if len(tp.token_ids) >= ctx.model.cfg.max_text_tokens else ()
        tokens = tuple(ctx.runner.tokenizer.decode([int(t)]) for t in tp.token_ids)
        return WordAttributions(  # build
            words=words, word_times=times, scores=scores, tokens=tokens, token_scores=tp.token_scores, token_word=tw,
            truncated=tuple(truncated), delta=tp.delta, prediction=tp.prediction, baseline_prediction=tp.baseline_prediction,
            steps=s.word_steps, method=s.ig_method, settings=s, seed=s.seed,
        )
