"""Attributions per audio and visual time step, on the clip's clock (seconds).

Two methods (``settings.time_method``):

* "integrated_gradients" (default): Captum IG over the raw audio and visual input tensors
  (the same batched pass as the modality totals, see ``integrated_gradients``), summed over
  each step's features. Signed; the values of a modality sum to its IG total.
* "occlusion": each ``occlusion_window``-second window of one modality replaced by the
  baseline; a step gets (f(x) - f(occluded)) / steps-in-window. All windows run in one
  batched pass without gradients. Coarser, but it measures a real removal.

Each step's time is the feature's own time stamp (the centre of its hop / the frame time).
"""

from __future__ import annotations

import numpy as np

from mmviz.errors import MmvizError
from mmviz.features.ablate import AV, mask_steps
from mmviz.explain.base import ClipContext, Explainer, register_explainer
from mmviz.explain.integrated_gradients import av_integrated_gradients
from mmviz.explain.record import ExplainSettings, StepAttribution, TimeAttributions

TIME_METHODS = ("integrated_gradients", "occlusion")


def top_window(curves: tuple[StepAttribution, ...], window: float) -> tuple | None:
    """(modality, start, end) of the ``window``-second stretch with the largest summed |attribution|."""
    best, out = -1.0, None
    for c in curves:
        t, v = np.asarray(c.times), np.abs(np.asarray(c.values))
        for i, t0 in enumerate(t):
            sel = (t >= t0) & (t < t0 + window)
            score = float(v[sel].sum())
            if score > best:
                best, out = score, (c.modality, float(t0 - c.step / 2), float(t0 - c.step / 2 + window))
    return out


def window_slices(times: np.ndarray, width: float) -> list[np.ndarray]:
    """Step indices of consecutive ``width``-second windows covering ``times``."""
    if len(times) == 0:
        return []
    k = np.floor((times - times.min()) / max(width, 1e-9)).astype(int)
    return [np.flatnonzero(k == i) for i in np.unique(k)]


@register_explainer
class TimeAttributionExplainer(Explainer[TimeAttributions]):
    """Signed contribution of each audio and visual time step."""

    name = "time_attribution"
    record_type = TimeAttributions
    field = "time_attributions"
    uses = ("av_ig",)  # with time_method="integrated_gradients"; occlusion runs its own batched pass
    needs_gradients = True

    def applies_to(self, model) -> bool:
        return super().applies_to(model) and (model.cfg.audio_dim + model.cfg.visual_dim) > 0

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise + validate
        s = ctx.settings
        if s.time_method not in TIME_METHODS:
            raise MmvizError(f"Unknown time attribution method {s.time_method!r}.", hint=f"Use one of: {', '.join(TIME_METHODS)}.")
        if s.time_method == "occlusion":  # compute
            curves, delta, baseline = self._occlusion(ctx), float("nan"), s.baseline
        else:
            curves, delta, baseline = self._ig(ctx)
        return TimeAttributions(curves, s.time_method, top_window(curves, s.window), delta, baseline, s, s.seed)  # build

    @staticmethod
    def _ig(ctx: ClipContext):
        av = av_integrated_gradients(ctx)
        cfg = ctx.model.cfg
        out = []
        for m in AV:
            if m not in av.attributions:
                continue
            tm = getattr(ctx.features, m)
            a = av.attributions[m]  # (T, D)
            out.append(StepAttribution(m, np.asarray(tm.times[: a.shape[0]], dtype=np.float64), a.sum(1),
                                       a.astype(np.float32), tuple(getattr(cfg, f"{m}_features")), float(tm.step)))
        return tuple(out), av.delta, av.baseline

    @staticmethod
    def _occlusion(ctx: ClipContext):
        s = ctx.settings
        jobs, clips = [], []
        for m in AV:
            if m not in ctx.present:
                continue
            tm = getattr(ctx.features, m)
            n = min(tm.n_steps, ctx.model.cfg.max_av_steps)
            for idx in window_slices(np.asarray(tm.times[:n]), s.occlusion_window):
                jobs.append((m, idx))
                clips.append(mask_steps(ctx.features, m, idx, s.baseline, ctx.other))
        preds = ctx.predict(clips)  # one batched pass (chunks of batch_size)
        f = ctx.prediction
        vals = {m: np.zeros(min(getattr(ctx.features, m).n_steps, ctx.model.cfg.max_av_steps)) for m in AV if m in ctx.present}
        for (m, idx), p in zip(jobs, preds):
            vals[m][idx] = (f - p) / len(idx)
        out = []
        for m, v in vals.items():
            tm = getattr(ctx.features, m)
            out.append(StepAttribution(m, np.asarray(tm.times[: len(v)], dtype=np.float64), v,
                                       np.zeros((len(v), 0), np.float32), (), float(tm.step)))
        return tuple(out)
