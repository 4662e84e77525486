"""Integrated gradients (Captum) summed per modality, with convergence deltas.

Two batched integration paths, each one Captum ``attribute`` call whose steps run as one batch:

* audio + visual: from the baseline (``settings.baseline``; "absent" has no same-shape tensor,
  so "mean" is used and the record says so) to the real values, jointly, with the transcript
  as it is. The LM has read the transcript once (a cached :class:`TextPrefix`, pre-run up to
  the first fusion block), so each step costs only the fusion part of the model.
  :func:`av_integrated_gradients` is shared with the time attribution (same pass, memoised
  on the :class:`ClipContext`).
* text: from pad-token embeddings to the real ones, with audio and video as they are — a
  LayerIntegratedGradients pass with ``settings.ig_steps`` steps (see ``word_attribution``;
  shared with the word attribution when that uses integrated gradients with as many steps).

Each path's completeness gap ``sum(attributions) - (f(x) - f(path baseline))`` is reported
(Captum's convergence delta); small |delta| means enough steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients

from mmviz.features.ablate import AV, remove
from mmviz.explain.base import ClipContext, Explainer, PrefixRepeater, register_explainer, register_pass, with_av
from mmviz.explain.record import ExplainSettings, ModalityIG


@dataclass(frozen=True)
class AVPath:
    """Result of the audio-visual IG pass (internal; records copy what they need)."""

    attributions: dict  # modality -> float64 (T, D) raw-unit attribution per step and feature
    delta: float
    prediction: float
    baseline_prediction: float
    baseline: str
    steps: int


def gradient_baseline(settings: ExplainSettings) -> str:
    return "mean" if settings.baseline == "absent" else settings.baseline


def av_integrated_gradients(ctx: ClipContext) -> AVPath:
    """Captum IG over the clip's audio and visual tensors (the shared pass "av_ig")."""
    return ctx.shared("av_ig")


@register_pass("av_ig")
def _av_ig(ctx: ClipContext) -> AVPath:
    s = ctx.settings
    bl = gradient_baseline(s)
    if s.baseline == "absent":
        ctx.notes.append("Gradient methods cannot remove steps outright; they integrate from the training mean instead.")
    mods = [m for m in AV if m in ctx.present]
    x = ctx.x
    if not mods:
        return AVPath({}, 0.0, ctx.prediction, ctx.prediction, bl, s.ig_steps)
    xb = ctx.inputs_of(remove(ctx.features, tuple(mods), bl, ctx.other))
    inputs = tuple(getattr(x, m) for m in mods)  # each (1, T, D)
    baselines = tuple(getattr(xb, m) for m in mods)
    prefix = PrefixRepeater(ctx.prefix(ctx.features.transcript))
    model = ctx.model

    def forward(*tensors: torch.Tensor) -> torch.Tensor:
        B = tensors[0].shape[0]
        got = dict(zip(mods, tensors))
        audio = got.get("audio", x.audio.expand(B, *x.audio.shape[1:]))
        visual = got.get("visual", x.visual.expand(B, *x.visual.shape[1:]))
        pred = model(with_av(x, audio, visual), prefix=prefix(B)).pred_fused  # (B,)
        # a model may ignore a stream (e.g. a closed gate): keep every input in the graph so its
        # gradient is an exact 0 instead of an autograd error
        return pred + sum((t * 0.0).flatten(1).sum(1) for t in tensors)

    ibs = s.batch_size if s.ig_steps > s.batch_size else None
    with ctx.runner.lock, torch.enable_grad():
        attr, delta = IntegratedGradients(forward).attribute(
            inputs, baselines=baselines, n_steps=s.ig_steps, method=s.ig_method, internal_batch_size=ibs,
            return_convergence_delta=True,
        )
    attrs = {m: a[0].detach().double().cpu().numpy() for m, a in zip(mods, attr)}
    d = float(delta.reshape(-1)[0])
    total = sum(float(a.sum()) for a in attrs.values())
    f = ctx.prediction
    return AVPath(attrs, d, f, f - (total - d), bl, s.ig_steps)


@register_explainer
class IntegratedGradientsExplainer(Explainer[ModalityIG]):
    """Per-modality integrated-gradients totals with convergence deltas."""

    name = "integrated_gradients"
    record_type = ModalityIG
    field = "integrated_gradients"
    uses = ("av_ig", "text_ig")
    needs_gradients = True

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise + validate
        from mmviz.explain.word_attribution import text_integrated_gradients

        s = ctx.settings
        av = av_integrated_gradients(ctx)  # compute
        with_text = s.text_ig or s.word_method == "integrated_gradients"
        tx = text_integrated_gradients(ctx) if with_text else None
        totals = {"text": float(tx.token_scores.sum()) if tx is not None else 0.0} if with_text else {}
        for m in AV:
            totals[m] = float(av.attributions[m].sum()) if m in av.attributions else 0.0
        deltas = {"audio+visual": av.delta}
        baselines, steps = {"audio+visual": av.baseline_prediction}, {"audio+visual": av.steps}
        if with_text:  # the text path was run (or there is no text: then it adds 0 exactly)
            deltas["text"] = tx.delta if tx is not None else 0.0
            baselines["text"] = tx.baseline_prediction if tx is not None else av.prediction
            steps["text"] = s.ig_steps
        else:
            ctx.notes.append("Integrated gradients were run for audio and video only; the text path (pad tokens to "
                             "words) is off by default because on this LM it does not add up at a usable step count. "
                             "Turn it on under Explanation settings to compare it anyway.")
        return ModalityIG(  # build
            totals=totals, deltas=deltas, delta=float(max(abs(v) for v in deltas.values())), prediction=av.prediction,
            path_baselines=baselines, baseline=av.baseline, steps=steps, method=s.ig_method, settings=s, seed=s.seed,
        )


def completeness_error(rec: ModalityIG) -> float:
    """Largest relative completeness gap |delta| / |f(x) - f(baseline)| over both paths."""
    errs = []
    for k, d in rec.deltas.items():
        span = abs(rec.prediction - rec.path_baselines[k])
        errs.append(abs(d) / span if span > 1e-9 else 0.0)
    return float(np.max(errs)) if errs else 0.0
