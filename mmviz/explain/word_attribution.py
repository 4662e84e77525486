"""Word attributions: Shapley values over the words (default) or LayerIntegratedGradients.

``settings.word_method`` picks the method (see :mod:`mmviz.explain.word_shapley` for the
default, which adds up exactly). Integrated gradients, kept as a selectable method and as the
per-modality text path of :mod:`mmviz.explain.integrated_gradients`:

The attributed layer is ``model.embed_tokens``; the baseline replaces every token of the
transcript with the tokenizer's pad token, keeping the positions and the attention mask (a
same-length path is what integrated gradients needs; see ``ablate`` for why Shapley removes
text differently). Audio and video stay as they are: they are passed to the forward
function as additional arguments. The steps run in batches; each step is a full pass of the
LM forward and backward. Two shared passes use it: "text_ig" (``settings.ig_steps`` steps,
the modality totals) and "word_ig" (``settings.word_steps``, the word attribution; the same
pass when the step counts agree). The real LM's pad-token path is far from straight, so its
completeness gap is reported and is often large at a few steps.

Token attributions (summed over the embedding width) are then summed per transcript word:
the transcript is ``" ".join(words)`` and each token belongs to the word that holds its first
non-space character (tokenizer offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from mmviz.errors import MmvizError
from mmviz.explain.base import ClipContext, Explainer, register_explainer, register_pass
from mmviz.explain.record import WORD_BASELINES, WORD_METHODS, ExplainSettings, WordAttributions
from mmviz.explain.word_shapley import owners, pad_id  # also registers the "word_shapley" pass
from mmviz_models.fusion import FusionInputs


@dataclass(frozen=True)
class TextPath:
    """Result of the text LIG pass (internal)."""

    token_ids: np.ndarray  # (L,) real tokens only
    token_scores: np.ndarray  # (L,) float64
    delta: float
    prediction: float
    baseline_prediction: float


def text_integrated_gradients(ctx: ClipContext, name: str = "text_ig") -> TextPath | None:
    """LIG over the transcript's token embeddings (shared pass ``name``: "text_ig" or "word_ig"); None without words."""
    if "text" not in ctx.present:
        return None
    return ctx.shared(name)


@register_pass("text_ig")
def _text_ig(ctx: ClipContext) -> TextPath:
    return _lig(ctx, ctx.settings.ig_steps)


@register_pass("word_ig")
def _word_ig(ctx: ClipContext) -> TextPath:
    return _lig(ctx, ctx.settings.word_steps)


def _lig(ctx: ClipContext, steps: int) -> TextPath:
    """One LIG pass with ``steps`` steps, run once per step count and clip (timed by the pass that asks first)."""
    key = ("text_lig", steps)
    if key not in ctx.cache:
        ctx.cache[key] = _compute_lig(ctx, steps)
    return ctx.cache[key]


def _compute_lig(ctx: ClipContext, steps: int) -> TextPath:
    s = ctx.settings
    x = ctx.x
    model = ctx.model

    def forward(input_ids, text_mask, audio, audio_mask, audio_times, visual, visual_mask, visual_times):
        xi = FusionInputs(input_ids, text_mask, audio, audio_mask, audio_times, visual, visual_mask, visual_times)
        return model(xi).pred_fused  # (B,)

    baseline = torch.full_like(x.input_ids, pad_id(ctx.runner.tokenizer))
    extra = (x.text_mask, x.audio, x.audio_mask, x.audio_times, x.visual, x.visual_mask, x.visual_times)
    ibs = s.batch_size if steps > s.batch_size else None
    with ctx.runner.lock, torch.enable_grad():
        attr, delta = LayerIntegratedGradients(forward, model.embed_tokens).attribute(
            x.input_ids, baselines=baseline, additional_forward_args=extra, n_steps=steps, method=s.ig_method,
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
    """Per-word contributions of the transcript (Shapley over words by default; see the module docstring)."""

    name = "word_attribution"
    record_type = WordAttributions
    field = "word_attributions"
    uses = ("word_shapley", "word_ig")
    needs_gradients = True

    def applies_to(self, model) -> bool:
        return super().applies_to(model) and hasattr(model, "embed_tokens")

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise
        s = ctx.settings
        check_word_settings(s)  # validate
        words = tuple(w.text for w in ctx.features.words)
        times = np.asarray([(w.start, w.end) for w in ctx.features.words], dtype=np.float64).reshape(-1, 2)
        if "text" not in ctx.present:
            f = ctx.prediction
            return WordAttributions(words, times, np.zeros(len(words)), (), np.zeros(0), np.zeros(0, np.int64), (),
                                    0.0, f, f, 0, s.word_method, s, s.seed, estimator="", baseline=s.word_baseline,
                                    completeness=0.0, standard_error=np.zeros(len(words)))
        if s.word_method == "shapley":  # compute + build
            return self._shapley(ctx, words, times)
        return self._ig(ctx, words, times)

    @staticmethod
    def _truncated(ctx: ClipContext, words, token_ids, tw) -> tuple[str, ...]:
        last = int(tw.max()) if (tw >= 0).any() else -1
        return tuple(words[last + 1 :]) if len(token_ids) >= ctx.model.cfg.max_text_tokens else ()

    def _shapley(self, ctx: ClipContext, words, times) -> WordAttributions:
        s = ctx.settings
        ws = ctx.shared("word_shapley")
        delta = float(ws.scores.sum()) - (ws.full - ws.empty)
        span = abs(ws.full - ws.empty)
        return WordAttributions(
            words=words, word_times=times, scores=ws.scores, tokens=tuple(ctx.runner.tokenizer.decode([int(t)]) for t in ws.token_ids),
            token_scores=np.full(len(ws.token_ids), np.nan), token_word=ws.token_word,
            truncated=self._truncated(ctx, words, ws.token_ids, ws.token_word), delta=delta, prediction=ws.full,
            baseline_prediction=ws.empty, steps=0, method="shapley", settings=s, seed=s.seed, estimator=ws.estimator,
            baseline=s.word_baseline, completeness=abs(delta) / span if span > 1e-12 else 0.0, samples=ws.samples,
            coalitions=ws.coalitions, standard_error=ws.standard_error, remainder=ws.remainder,
        )

    def _ig(self, ctx: ClipContext, words, times) -> WordAttributions:
        s = ctx.settings
        if s.word_baseline != "pad":
            ctx.notes.append("Integrated gradients cannot take words out of the transcript; its word baseline is the pad token.")
        tp = text_integrated_gradients(ctx, "word_ig")
        tw = token_to_word(ctx.features.transcript, words, tp.token_ids, ctx.runner.tokenizer, ctx.model.cfg.max_text_tokens)
        scores = np.zeros(len(words), dtype=np.float64)
        np.add.at(scores, tw[tw >= 0], tp.token_scores[tw >= 0])
        # tokens of no word (whitespace pieces) go to their word as in the Shapley game, so the scores keep the total
        own = owners(tw)
        stray = (tw < 0) & (own >= 0)
        np.add.at(scores, own[stray], tp.token_scores[stray])
        tokens = tuple(ctx.runner.tokenizer.decode([int(t)]) for t in tp.token_ids)
        span = abs(tp.prediction - tp.baseline_prediction)
        return WordAttributions(
            words=words, word_times=times, scores=scores, tokens=tokens, token_scores=tp.token_scores, token_word=tw,
            truncated=self._truncated(ctx, words, tp.token_ids, tw), delta=tp.delta, prediction=tp.prediction,
            baseline_prediction=tp.baseline_prediction, steps=s.word_steps, method="integrated_gradients", settings=s,
            seed=s.seed, estimator=s.ig_method, baseline="pad", completeness=abs(tp.delta) / span if span > 1e-12 else 0.0,
        )


def check_word_settings(s: ExplainSettings) -> None:
    """User-facing validation of the word-attribution settings."""
    if s.word_method not in WORD_METHODS:
        raise MmvizError(f"Unknown word attribution method {s.word_method!r}.", hint=f"Use one of: {', '.join(WORD_METHODS)}.")
    if s.word_baseline not in WORD_BASELINES:
        raise MmvizError(f"Unknown word baseline {s.word_baseline!r}.", hint=f"Use one of: {', '.join(WORD_BASELINES)}.")
    if s.word_estimator not in ("auto", "ends", "permutations"):
        raise MmvizError(f"Unknown word Shapley estimator {s.word_estimator!r}.", hint="Use auto, ends or permutations.")
    if s.word_samples < 2:
        raise MmvizError("Sampled word Shapley needs at least 2 word orders (one antithetic pair).",
                         hint="Raise word_samples.")

