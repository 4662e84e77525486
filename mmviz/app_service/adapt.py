"""The app's view of an explanation, built from ``mmviz.explain``'s :class:`Explanation`.

The dashboard's figures read :class:`~mmviz.app_service.views.ClipExplanation`: the few
numbers and curves a page shows, flattened from the explainer's records. Everything here is a
plain field-to-field mapping; the full ``Explanation`` is saved beside it for provenance.
"""

from __future__ import annotations

import numpy as np

from mmviz.app_service.views import ClipExplanation, Counterfactual, TimeAttribution
from mmviz.explain import Explanation


def to_view(e: Explanation) -> ClipExplanation:
    """Map one Explanation onto the view the pages draw."""
    sh, v = e.shapley, e.verdict
    times: list[TimeAttribution] = []
    if e.time_attributions is not None:
        times += [TimeAttribution(t.modality, np.asarray(t.times, float), np.asarray(t.values, np.float32), kind="attribution")
                  for t in e.time_attributions.per_modality if len(t.times)]
    if e.attention is not None:
        times += [TimeAttribution(m, np.asarray(e.attention.times[m], float), np.asarray(e.attention.curves[m], np.float32),
                                  kind="attention") for m in ("audio", "visual") if len(e.attention.times.get(m, ()))]
    wa = e.word_attributions
    ig = e.integrated_gradients
    cfs = tuple(Counterfactual(c.name, c.kind, float(c.fused), float(c.delta)) for c in (e.counterfactuals.items if e.counterfactuals else ()))
    settings = dict(e.settings) | {"attention_vs_attribution": dict(e.attention_vs_attribution), "notes": list(e.notes),
                                   "timings_s": {k: round(float(t), 3) for k, t in e.timings.items()}}
    return ClipExplanation(
        shapley=dict(sh.values) if sh else {}, interaction=float(sh.interaction) if sh else 0.0,
        base=float(sh.base) if sh else 0.0, full=float(sh.full) if sh else float(e.prediction),
        verdict=v.kind if v else "unknown", verdict_text=v.text if v else "No verdict: Shapley values were not computed.",
        dominant=v.dominant if v else "",
        time=tuple(times),
        words=tuple(wa.words) if wa else (), word_scores=np.asarray(wa.scores, np.float32) if wa else np.zeros(0, np.float32),
        counterfactuals=cfs,
        ig=dict(ig.totals) if ig else None, ig_delta=float(ig.delta) if ig else None,
        map_xy=e.map_xy, source="mmviz.explain", settings=settings,
    )
