"""Fill the app's ClipExplanation from ``mmviz.explain.explain_clip`` when that package exists.

The explainer package was written in parallel with the dashboard, so this adapter reads its
``Explanation`` by field name and falls back (returns None → the app's own removal-based
explanation) when a field it needs is missing. Once the explainer's record is settled, map it
here and nowhere else.
"""

from __future__ import annotations

import logging

import numpy as np

from mmviz.app_service.views import MODALITIES, ClipExplanation, Counterfactual, TimeAttribution
from mmviz.errors import MmvizError
from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner

log = logging.getLogger(__name__)


def _get(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def _as_map(v) -> dict | None:
    if v is None:
        return None
    if isinstance(v, dict):
        return {str(k): float(x) for k, x in v.items() if str(k) in MODALITIES}
    return {m: float(_get(v, m, default=0.0)) for m in MODALITIES}


def explain_with_package(runner: ModelRunner, feats: ClipFeatures, ins: Inspection, other: ClipFeatures | None) -> ClipExplanation | None:
    try:
        from mmviz.explain import explain_clip

        with runner.lock:
            e = explain_clip(runner, feats)
    except MmvizError:
        raise
    except Exception as err:  # an explainer bug must not take the page down: use the fallback
        log.warning("mmviz.explain failed (%s); using the app's fallback explanation", err)
        return None
    try:
        sh = _get(e, "shapley", "modality_contributions", "contributions")
        phi = _as_map(_get(sh, "values", "phi", default=sh))
        if not phi:
            return None
        inter = float(_get(sh, "interaction", default=_get(e, "interaction", default=0.0)) or 0.0)
        base = float(_get(sh, "base", "baseline", default=_get(e, "base", default=0.0)) or 0.0)
        full = float(_get(sh, "full", "prediction", default=ins.predictions.fused) or ins.predictions.fused)
        ig = _get(e, "integrated_gradients", "ig")
        igmap = _as_map(_get(ig, "totals", "modality_totals", "values", default=ig)) if ig is not None else None
        ig_delta = _get(ig, "delta", "convergence_delta") if ig is not None else None
        v = _get(e, "verdict")
        verdict = str(_get(v, "kind", "verdict", "name", default=v))
        text = str(_get(v, "text", "summary", "explanation", default=_get(e, "verdict_text", default=verdict)))
        dominant = str(_get(v, "dominant", "modality", default=max(phi, key=lambda m: abs(phi[m]))))
        times = []
        ta = _get(e, "time_attributions", "time", default={}) or {}
        items = ta.items() if isinstance(ta, dict) else [(_get(t, "modality"), t) for t in ta]
        for m, t in items:
            tt, vv = _get(t, "times"), _get(t, "values", "scores")
            if tt is not None and vv is not None:
                times.append(TimeAttribution(str(m), np.asarray(tt, float), np.asarray(vv, np.float32)))
        wa = _get(e, "word_attributions", "words")
        words = tuple(str(_get(w, "text", "word", default=w)) for w in (_get(wa, "words", default=wa) or ()))
        scores = np.asarray(_get(wa, "scores", "values", default=[float(_get(w, "score", default=0.0)) for w in (wa or ())]), np.float32)
        cfs = tuple(Counterfactual(str(_get(c, "name", "description", default="change")), str(_get(c, "kind", default="")),
                                   float(_get(c, "fused", "prediction", default=0.0)),
                                   float(_get(c, "delta", default=float(_get(c, "fused", "prediction", default=0.0)) - full)))
                    for c in (_get(e, "counterfactuals", default=()) or ()))
        xy = _get(e, "map_xy", "map_position")
        return ClipExplanation(
            shapley=phi, interaction=inter, base=base, full=full, verdict=verdict, verdict_text=text, dominant=dominant,
            time=tuple(times), words=words, word_scores=scores if len(scores) == len(words) else np.zeros(len(words), np.float32),
            counterfactuals=cfs, ig=igmap, ig_delta=None if ig_delta is None else float(ig_delta),
            map_xy=None if xy is None else (float(xy[0]), float(xy[1])), source="mmviz.explain",
            settings=dict(_get(e, "settings", default={}) or {}),
        )
    except Exception as err:
        log.warning("could not read mmviz.explain's record (%s); using the app's fallback explanation", err)
        return None
