"""A light explanation computed with the runner alone, used until ``mmviz.explain`` is installed.

Removal-based: a modality is "absent" when its input is dropped (no words / no audio / no
video), which the model handles natively. Exact Shapley over 3 players takes 8 forwards.
"""

from __future__ import annotations

import dataclasses
from itertools import combinations
from math import factorial

import numpy as np

from mmviz.app_service.views import MODALITIES, ClipExplanation, Counterfactual, TimeAttribution
from mmviz.features.record import ClipFeatures, TimedMatrix
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner


def without(clip: ClipFeatures, drop: tuple[str, ...]) -> ClipFeatures:
    """The clip with the named modalities removed."""
    changes: dict = {}
    if "text" in drop:
        changes["words"] = ()
    if "audio" in drop:
        changes["audio"] = None
    if "visual" in drop:
        changes["visual"] = None
    return dataclasses.replace(clip, **changes) if changes else clip


def mask_span(clip: ClipFeatures, start: float, end: float) -> ClipFeatures:
    """Audio and visual steps inside [start, end] set to NaN ("not measured"), words inside removed."""

    def m(tm: TimedMatrix | None) -> TimedMatrix | None:
        if tm is None:
            return None
        v = tm.values.copy()
        v[(tm.times >= start) & (tm.times <= end)] = np.nan
        return dataclasses.replace(tm, values=v)

    words = tuple(w for w in clip.words if w.end < start or w.start > end)
    return dataclasses.replace(clip, audio=m(clip.audio), visual=m(clip.visual), words=words)


def shift_audio(clip: ClipFeatures, seconds: float) -> ClipFeatures:
    """Audio moved later by ``seconds`` (circularly, so its length stays the clip's)."""
    if clip.audio is None:
        return clip
    k = int(round(seconds / max(clip.audio.step, 1e-6)))
    return dataclasses.replace(clip, audio=dataclasses.replace(clip.audio, values=np.roll(clip.audio.values, k, axis=0)))


def swap_modality(clip: ClipFeatures, other: ClipFeatures, modality: str) -> ClipFeatures:
    """The clip with one modality taken from ``other``."""
    if modality == "text":
        return dataclasses.replace(clip, words=other.words)
    return dataclasses.replace(clip, **{modality: getattr(other, modality)})


def _fused(runner: ModelRunner, clips: list[ClipFeatures]) -> list[float]:
    return [i.predictions.fused for i in runner.inspect(clips)]


def shapley(runner: ModelRunner, clip: ClipFeatures) -> tuple[dict, float, float, float]:
    """Exact Shapley values of the 3 modalities, the interaction term, the base and full score."""
    subsets = [s for r in range(4) for s in combinations(MODALITIES, r)]
    clips = [without(clip, tuple(m for m in MODALITIES if m not in s)) for s in subsets]
    value = dict(zip(subsets, _fused(runner, clips)))
    n = len(MODALITIES)
    phi = {}
    for m in MODALITIES:
        total = 0.0
        for s in subsets:
            if m in s:
                continue
            with_m = tuple(x for x in MODALITIES if x in s or x == m)
            w = factorial(len(s)) * factorial(n - len(s) - 1) / factorial(n)
            total += w * (value[with_m] - value[s])
        phi[m] = float(total)
    base, full = value[()], value[MODALITIES]
    interaction = full - base - sum(value[(m,)] - base for m in MODALITIES)
    return phi, float(interaction), float(base), float(full)


def verdict(phi: dict) -> tuple[str, str, str]:
    mags = {m: abs(v) for m, v in phi.items()}
    total = sum(mags.values()) or 1e-12
    top = max(mags, key=mags.get)
    salient = [m for m in MODALITIES if mags[m] >= 0.2 * total]
    signs = {np.sign(phi[m]) for m in salient if phi[m] != 0}
    if len(signs) > 1:
        pos = [m for m in salient if phi[m] > 0]
        neg = [m for m in salient if phi[m] < 0]
        return ("conflicting", top,
                f"The modalities disagree: {', '.join(pos)} push{'es' if len(pos) == 1 else ''} the score up while "
                f"{', '.join(neg)} pull{'s' if len(neg) == 1 else ''} it down; {top} wins.")
    if mags[top] >= 0.6 * total:
        return "dominant", top, f"Mostly the {top}: it carries {mags[top] / total:.0%} of the evidence."
    return "complementary", top, f"The modalities agree and add up ({', '.join(salient)}); {top} contributes most."


def word_scores(runner: ModelRunner, clip: ClipFeatures, full: float) -> np.ndarray:
    """Leave-one-word-out: how much the fused score drops when each word is removed."""
    if not clip.words:
        return np.zeros(0, dtype=np.float32)
    clips = [dataclasses.replace(clip, words=clip.words[:i] + clip.words[i + 1 :]) for i in range(len(clip.words))]
    return (full - np.asarray(_fused(runner, clips))).astype(np.float32)


def attention_over_time(ins: Inspection) -> tuple[TimeAttribution, ...]:
    """Cross-attention mass per key (mean over blocks, heads, tokens), split by modality."""
    mass = ins.cross_attention.mean(axis=(0, 1, 2))  # (K,)
    out = []
    for m in ("audio", "visual"):
        sel = ins.key_mask(m)
        if sel.any():
            out.append(TimeAttribution(m, ins.key_times[sel].astype(np.float64), mass[sel].astype(np.float32), kind="attention"))
    return tuple(out)


def fallback_explain(runner: ModelRunner, clip: ClipFeatures, ins: Inspection, other: ClipFeatures | None = None) -> ClipExplanation:
    with runner.lock:
        phi, inter, base, full = shapley(runner, clip)
        v, dominant, text = verdict(phi)
        ws = word_scores(runner, clip, full)
        cfs = counterfactuals(runner, clip, full, other)
    return ClipExplanation(
        shapley=phi, interaction=inter, base=base, full=full, verdict=v, verdict_text=text, dominant=dominant,
        time=attention_over_time(ins), words=tuple(w.text for w in clip.words), word_scores=ws,
        counterfactuals=cfs, source="app-fallback", settings={"method": "removal-shapley", "words": "leave-one-out"},
    )


def counterfactuals(runner: ModelRunner, clip: ClipFeatures, full: float, other: ClipFeatures | None = None,
                    span: tuple[float, float] | None = None, shift: float = 0.5) -> tuple[Counterfactual, ...]:
    """The standard set: drop each modality, mask a span, shift audio, swap with another clip."""
    d = clip.duration
    a, b = span or (d / 3, 2 * d / 3)
    todo: list[tuple[str, str, ClipFeatures]] = [(f"drop {m}", "drop", without(clip, (m,))) for m in MODALITIES]
    todo.append((f"mask {a:.1f}–{b:.1f} s", "mask", mask_span(clip, a, b)))
    todo.append((f"shift audio +{shift:.1f} s", "shift", shift_audio(clip, shift)))
    if other is not None:
        for m in ("audio", "visual"):
            todo.append((f"swap {m} with {other.clip_id}", "swap", swap_modality(clip, other, m)))
    scores = _fused(runner, [c for _, _, c in todo])
    return tuple(Counterfactual(n, k, float(s), float(s - full)) for (n, k, _), s in zip(todo, scores))
