"""``explain_clip``: every explanation of one clip, in one call, as one :class:`Explanation`.

Runs the model once with attention collected (or reuses a given Inspection), then every
registered explainer that applies (in registry order, sharing one :class:`ClipContext`: one
LM pass per distinct transcript, one audio-visual IG pass for both the modality totals and
the time attribution), then the views computed from the Inspection (attention curves and
their rank correlation with the time attribution, fusion-token diagnostics) and, when a
fitted map is passed as ``reference``, the clip's place on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
import torch

import mmviz
from mmviz.errors import MmvizError
from mmviz.explain.base import ClipContext, check_dependencies, explainers
from mmviz.explain.record import Explanation, ExplainSettings
from mmviz.explain.verdict import verdict
from mmviz.records.features import ClipFeatures
from mmviz.inference.record import Inspection



def explain_clip(
    runner,
    features: ClipFeatures,
    settings: ExplainSettings | None = None,
    *,
    reference=None,
    progress: Callable[[str, float], None] | None = None,
    other: ClipFeatures | None = None,
    inspection: Inspection | None = None,
) -> Explanation:
    """Explain one clip with every applicable method.

    runner: a :class:`~mmviz.inference.runner.ModelRunner`. settings: see ExplainSettings.
    reference: a fitted ``EmbeddingMap`` (or ``EmbeddingMaps``; its "fused" map is used) to
        place the clip on; None = no map position.
    progress: called as ``progress(stage, fraction)``.
    other: another clip, for the "clip" baseline and the swap counterfactuals.
    inspection: the clip's Inspection if already computed (skips one forward pass).

    Raises :class:`MmvizError` when the clip has nothing the model reads (no audio, no video
    and no words) or a setting is invalid.
    """
    # normalise
    settings = settings or ExplainSettings()
    report = progress or (lambda stage, frac: None)
    # validate
    check_dependencies()
    ctx = ClipContext.build(runner, features, settings, other)
    cut = runner.truncation_note(features)  # what the model (and so every explainer) did not read
    if cut:
        ctx.notes.insert(0, cut)
    todo = [e for e in explainers() if (not settings.methods or e.name in settings.methods) and e.applies_to(runner.model)]
    if inspection is not None and inspection.content_hash != features.content_hash:
        raise ValueError("the inspection given is of another clip")
    unknown = set(settings.methods) - {e.name for e in explainers()}
    if unknown:
        raise MmvizError(f"Unknown explanation method(s): {', '.join(sorted(unknown))}.",
                         hint=f"Available: {', '.join(e.name for e in explainers())}.")
    # compute
    timings: dict[str, float] = {}
    results: dict = {}
    with runner.lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        t = time.perf_counter()
        report("prediction", 0.0)
        ins = inspection if inspection is not None else runner.inspect([features])[0]
        timings["prediction"] = time.perf_counter() - t
        for i, ex in enumerate(todo):
            report(ex.name, (i + 1) / (len(todo) + 2))
            t = time.perf_counter()
            results[ex.name] = ex.explain(runner, features, settings, context=ctx)
            timings[ex.name] = time.perf_counter() - t
        report("views", (len(todo) + 1) / (len(todo) + 2))
        _convergence_notes(results, ctx.notes)
        shap = results.get("shapley")
        verd = verdict(shap, ig=results.get("integrated_gradients")) if shap is not None else None
        if verd is not None:
            ctx.notes.extend(verd.notes)
        _word_notes(results.get("word_attribution"), ctx.notes)
        t = time.perf_counter()
        att, corr, tok = _views(ins, results.get("time_attribution"), ctx.notes)
        timings["attention_views"] = time.perf_counter() - t
        t = time.perf_counter()
        xy, space = _place(reference, ins, ctx.notes)
        timings["map_placement"] = time.perf_counter() - t
    timings["total"] = float(sum(timings.values()))
    timings.update({f"shared pass: {k}": v for k, v in ctx.pass_timings.items()})  # inside the parts above
    report("done", 1.0)
    # build
    fields = {e.name: e.field for e in explainers() if e.field}  # the registry says which record fills which field
    core = {field: results.get(name) for name, field in fields.items()}
    return Explanation(
        clip_id=features.clip_id, content_hash=features.content_hash, checkpoint_hash=runner.checkpoint_hash,
        backbone=runner.backbone_name, prediction=float(ins.predictions.fused), present=ctx.present, verdict=verd,
        attention=att, attention_vs_attribution=corr, token_diagnostics=tok, map_xy=xy, map_space=space,
        extra={k: v for k, v in results.items() if k not in fields}, notes=tuple(dict.fromkeys(ctx.notes)),
        timings=timings, settings=settings.to_dict(), seed=settings.seed,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), mmviz_version=mmviz.__version__, **core,
    )


def _convergence_notes(results: dict, notes: list[str], tolerance: float = 0.2) -> None:
    """Tell users when integrated gradients did not converge (gap > ``tolerance`` of what it explains)."""
    ig = results.get("integrated_gradients")
    if ig is None:
        return
    for path, d in ig.deltas.items():
        span = abs(ig.prediction - ig.path_baselines[path])
        if span > 1e-6 and abs(d) > tolerance * span:
            steps = ig.steps.get(path)
            notes.append(f"The {path} integrated gradients are approximate: they miss {abs(d):.3f} of the {span:.3f} "
                         f"they should add up to with {steps} steps; raise the step count for exact totals.")


def _word_notes(wa, notes: list[str], tolerance: float = 0.2) -> None:
    """Tell users how far the word attributions are from adding up (IG) or how noisy they are (sampled Shapley)."""
    if wa is None or not len(wa.words):
        return
    if wa.method_name == "integrated_gradients" and np.isfinite(wa.completeness) and wa.completeness > tolerance:
        notes.append(f"The word attributions (integrated gradients, {wa.steps} steps) miss {wa.completeness:.0%} of "
                     "what they should add up to; Shapley over words (the default) adds up exactly.")
    if wa.standard_error.size and np.isfinite(wa.standard_error).all():
        span = float(np.abs(wa.scores).max()) if len(wa.scores) else 0.0
        err = float(wa.standard_error.max())
        if span > 0 and err > 0.25 * span:
            notes.append(f"The word scores are sampled ({wa.samples} word orders) and uncertain: up to ±{err:.3f} next to "
                         f"a largest score of {span:.3f}; raise the number of samples to rank the words reliably.")


def _views(ins: Inspection, time_attr, notes: list[str]):
    """Attention curves, their rank correlation with the time attribution, token diagnostics."""
    att = tok = None
    corr: dict = {}
    if not ins.has_fusion_tokens:  # late / early / ume: nothing to draw, said once
        notes.append(ins.no_fusion_tokens_note())
        return None, corr, None
    try:
        from mmviz.explain.attention import attention_attribution_correlation, attention_curves
    except ImportError:
        notes.append("Attention views are not available in this installation.")
        return None, corr, None
    try:
        att = attention_curves(ins)
    except MmvizError as e:
        notes.append(f"No attention view: {e.message}")
    if att is not None and time_attr is not None:
        for c in time_attr:
            try:
                corr[c.modality] = float(attention_attribution_correlation(att, c.times, c.values, c.modality))
            except MmvizError:
                corr[c.modality] = float("nan")
    try:
        from mmviz.explain.tokens import token_diagnostics

        tok = token_diagnostics(ins)
    except ImportError:
        pass
    except MmvizError as e:
        notes.append(f"No fusion-token diagnostics: {e.message}")
    return att, corr, tok


def _place(reference, ins: Inspection, notes: list[str]) -> tuple[tuple[float, float] | None, str | None]:
    if reference is None:
        return None, None
    from mmviz.explain.embedding_map import EmbeddingMap, EmbeddingMaps, place

    emb_map = reference
    if isinstance(reference, EmbeddingMaps):
        emb_map = reference["fused"] if "fused" in reference.maps else next(iter(reference.maps.values()))
    if not isinstance(emb_map, EmbeddingMap):
        raise MmvizError(f"reference must be a fitted EmbeddingMap, not {type(reference).__name__}.")
    if emb_map.space not in ins.embeddings:
        notes.append(f"The reference map holds {emb_map.space!r} embeddings, which an inspection does not have.")
        return None, emb_map.space
    xy = np.asarray(place(emb_map, ins.embeddings[emb_map.space]))[0]
    return (float(xy[0]), float(xy[1])), emb_map.space
