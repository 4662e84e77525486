"""Counterfactuals: change the input in one understandable way and re-predict.

* drop   — a modality removed outright (transcript -> empty, stream -> absent);
* mask   — a time span: audio/visual steps inside it replaced by the baseline, words inside removed;
* shift  — audio moved k steps against the video (vacated steps "not measured");
* swap   — one modality taken from another clip.

Every change is a pure ClipFeatures transform from :mod:`mmviz.features.ablate`; all the
changes of a clip are predicted in one batched pass (transcripts that did not change reuse
the LM's cached pass). Each result is the new fused prediction and its change from the
original.
"""

from __future__ import annotations

from mmviz.errors import MmvizError
from mmviz.features.ablate import mask_span, shift_steps, swap_modality, without
from mmviz.explain.base import ClipContext, Explainer, register_explainer
from mmviz.explain.record import MODALITIES, CounterfactualResult, Counterfactuals, ExplainSettings
from mmviz.records.features import ClipFeatures

KINDS = ("drop", "mask", "shift", "swap")


def make_change(features: ClipFeatures, kind: str, *, modality: str = "audio", span: tuple[float, float] | None = None,
                steps: int = 0, other: ClipFeatures | None = None, baseline: str = "mean") -> tuple[str, ClipFeatures, dict]:
    """(name, changed clip, details) of one counterfactual; raises MmvizError for bad requests."""
    if kind == "drop":
        if modality not in MODALITIES:
            raise MmvizError(f"Unknown modality {modality!r}.", hint=f"Use one of: {', '.join(MODALITIES)}.")
        return f"drop {modality}", without(features, (modality,)), {"modality": modality}
    if kind == "mask":
        a, b = span if span is not None else (features.duration / 3, 2 * features.duration / 3)
        if not b > a:
            raise MmvizError(f"The span to mask ends ({b:.2f} s) before it starts ({a:.2f} s).")
        return (f"mask {a:.1f}–{b:.1f} s", mask_span(features, a, b, "mean" if baseline == "absent" else baseline, other),
                {"start": float(a), "end": float(b), "baseline": baseline})
    if kind == "shift":
        step = features.audio.step if features.audio is not None else 0.0
        return (f"shift audio {steps * step:+.1f} s", shift_steps(features, int(steps), "audio"),
                {"steps": int(steps), "seconds": float(steps * step)})
    if kind == "swap":
        if other is None:
            raise MmvizError("Pick another clip to swap with.")
        return (f"swap {modality} with {other.clip_id}", swap_modality(features, other, modality),
                {"modality": modality, "other": other.clip_id})
    raise MmvizError(f"Unknown counterfactual {kind!r}.", hint=f"Use one of: {', '.join(KINDS)}.")


def standard_changes(ctx: ClipContext) -> list[tuple[str, str, ClipFeatures, dict]]:
    s, f = ctx.settings, ctx.features
    todo = [("drop", dict(modality=m)) for m in ctx.present]
    todo.append(("mask", dict(span=s.mask_span)))
    if "audio" in ctx.present and "visual" in ctx.present:
        todo += [("shift", dict(steps=k)) for k in s.shift_steps if k]
    if ctx.other is not None:
        todo += [("swap", dict(modality=m)) for m in MODALITIES if m in ctx.present]
    out = []
    for kind, kw in todo:
        name, clip, details = make_change(f, kind, other=ctx.other, baseline=s.baseline, **kw)
        out.append((name, kind, clip, details))
    return out


def run_changes(ctx: ClipContext, changes: list[tuple[str, str, ClipFeatures, dict]]) -> tuple[CounterfactualResult, ...]:
    """Predict every changed clip in one batched pass."""
    preds = ctx.predict([c for _, _, c, _ in changes])
    f0 = ctx.prediction
    return tuple(CounterfactualResult(n, k, float(p), float(p - f0), d) for (n, k, _, d), p in zip(changes, preds))


def counterfactual(runner, features: ClipFeatures, kind: str, *, modality: str = "audio",
                   span: tuple[float, float] | None = None, steps: int = 0, other: ClipFeatures | None = None,
                   settings: ExplainSettings | None = None, context: ClipContext | None = None) -> CounterfactualResult:
    """One counterfactual on demand (e.g. from a page widget)."""
    ctx = context or ClipContext.build(runner, features, settings)  # normalise + validate
    change = make_change(features, kind, modality=modality, span=span, steps=steps, other=other,
                         baseline=ctx.settings.baseline)
    name, clip, details = change
    return run_changes(ctx, [(name, kind, clip, details)])[0]  # compute + build


@register_explainer
class CounterfactualExplainer(Explainer[Counterfactuals]):
    """The standard set: drop each modality, mask a span, shift audio ±k, swap with another clip."""

    name = "counterfactuals"
    record_type = Counterfactuals
    field = "counterfactuals"

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise + validate
        items = run_changes(ctx, standard_changes(ctx))  # compute
        s = ctx.settings
        return Counterfactuals(items, ctx.prediction, s.baseline, s, s.seed)  # build
