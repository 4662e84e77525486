"""How a modality or a time span is *removed*: pure ClipFeatures -> ClipFeatures transforms.

Every explainer removes inputs through these functions, so Shapley, integrated gradients,
occlusion, counterfactuals and the faithfulness benchmark agree on what "removed" means.

Audio / visual — the ``baseline`` (see :class:`~mmviz.explain.record.ExplainSettings`):
  * "mean": values set to NaN, which the model imputes with its training mean (z-score 0):
    the model's own notion of "nothing measured here". Default.
  * "zeros": raw descriptor values 0 (not neutral for e.g. pitch in Hz; offered for Captum parity).
  * "clip": another clip's values, resampled to this clip's time grid (nearest step; NaN
    beyond the other clip's end; missing columns NaN).
  * "absent": the steps are dropped (a whole modality: the stream becomes None), the
    model's native missing-stream input.

Text — always the *empty transcript*. The LM is frozen and causal: the honest "no words"
input is a transcript with no tokens at all (the fusion tokens then attend only to
themselves), not a row of pad tokens, which the LM would read as real text. Gradient methods
need a same-length path and use pad-token embeddings instead (see ``word_attribution``); that
baseline is therefore not the same point, and their text total is not expected to equal the
Shapley value.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mmviz.errors import MmvizError
from mmviz.records.features import ClipFeatures, TimedMatrix
from mmviz.records.modalities import MODALITIES

#: what a removed audio/visual input becomes (see ``mmviz.explain.record.ExplainSettings.baseline``)
BASELINES = ("mean", "zeros", "clip", "absent")

AV = ("audio", "visual")


def check_baseline(baseline: str, other: ClipFeatures | None) -> None:
    """User-facing validation of a baseline name (and of the other clip it may need)."""
    if baseline not in BASELINES:
        raise MmvizError(f"Unknown baseline {baseline!r}.", hint=f"Use one of: {', '.join(BASELINES)}.")
    if baseline == "clip" and other is None:
        raise MmvizError("The 'clip' baseline replaces a removed modality with another clip's, but no other clip was given.",
                         hint="Pick a reference clip, or use the 'mean' baseline.")


def _resample(src: TimedMatrix | None, like: TimedMatrix) -> np.ndarray:
    """``src``'s values on ``like``'s time grid and columns (nearest step; NaN where unknown)."""
    out = np.full(like.values.shape, np.nan, dtype=np.float32)
    if src is None or src.n_steps == 0:
        return out
    idx = np.clip(np.searchsorted(src.times, like.times), 0, src.n_steps - 1)
    prev = np.clip(idx - 1, 0, src.n_steps - 1)
    idx = np.where(np.abs(src.times[prev] - like.times) < np.abs(src.times[idx] - like.times), prev, idx)
    inside = like.times <= src.times[-1] + src.step / 2
    for j, name in enumerate(like.names):
        if name in src.names:
            col = src.values[idx, src.names.index(name)]
            out[:, j] = np.where(inside, col, np.nan)
    return out


def baseline_values(tm: TimedMatrix, modality: str, baseline: str, other: ClipFeatures | None) -> np.ndarray:
    """The (T, D) values a removed stretch of ``tm`` takes (not for "absent")."""
    if baseline == "mean":
        return np.full(tm.values.shape, np.nan, dtype=np.float32)
    if baseline == "zeros":
        return np.zeros(tm.values.shape, dtype=np.float32)
    if baseline == "clip":
        return _resample(getattr(other, modality) if other is not None else None, tm)
    raise ValueError(f"baseline {baseline!r} has no values")


def _replace_steps(tm: TimedMatrix, sel: np.ndarray, modality: str, baseline: str, other: ClipFeatures | None) -> TimedMatrix | None:
    if not sel.any():
        return tm
    if baseline == "absent":
        if sel.all():
            return None
        keep = ~sel
        return TimedMatrix(tm.values[keep], tm.names, tm.times[keep], tm.step)
    v = tm.values.astype(np.float32, copy=True)
    v[sel] = baseline_values(tm, modality, baseline, other)[sel]
    return dataclasses.replace(tm, values=v)


def remove(clip: ClipFeatures, drop, baseline: str = "mean", other: ClipFeatures | None = None) -> ClipFeatures:
    """The clip with the named modalities removed (text -> empty transcript; audio/visual -> baseline)."""
    drop = (drop,) if isinstance(drop, str) else tuple(drop)
    bad = [m for m in drop if m not in MODALITIES]
    if bad:
        raise MmvizError(f"Unknown modality {bad[0]!r}.", hint=f"Use one of: {', '.join(MODALITIES)}.")
    changes: dict = {}
    if "text" in drop:
        changes["words"] = ()
    for m in AV:
        tm = getattr(clip, m)
        if m in drop and tm is not None:
            changes[m] = _replace_steps(tm, np.ones(tm.n_steps, dtype=bool), m, baseline, other)
    return dataclasses.replace(clip, **changes) if changes else clip


def without(clip: ClipFeatures, drop: tuple[str, ...]) -> ClipFeatures:
    """The clip with the named modalities dropped outright (the app's "drop" counterfactual)."""
    return remove(clip, drop, "absent")


def mask_span(clip: ClipFeatures, start: float, end: float, baseline: str = "mean", other: ClipFeatures | None = None,
              modalities: tuple[str, ...] = MODALITIES) -> ClipFeatures:
    """Steps inside [start, end] s replaced by the baseline (default: NaN = unmeasured); words inside removed."""
    changes: dict = {}
    for m in AV:
        tm = getattr(clip, m)
        if m in modalities and tm is not None:
            changes[m] = _replace_steps(tm, (tm.times >= start) & (tm.times <= end), m, baseline, other)
    if "text" in modalities:
        changes["words"] = tuple(w for w in clip.words if w.end < start or w.start > end)
    return dataclasses.replace(clip, **changes)


def mask_steps(clip: ClipFeatures, modality: str, steps: np.ndarray, baseline: str = "mean",
               other: ClipFeatures | None = None) -> ClipFeatures:
    """The audio or visual steps with indices ``steps`` replaced by the baseline."""
    tm = getattr(clip, modality)
    if tm is None:
        return clip
    sel = np.zeros(tm.n_steps, dtype=bool)
    sel[np.asarray(steps, dtype=int)] = True
    return dataclasses.replace(clip, **{modality: _replace_steps(tm, sel, modality, baseline, other)})


def shift_steps(clip: ClipFeatures, k: int, modality: str = "audio") -> ClipFeatures:
    """``modality`` moved ``k`` steps later (k < 0: earlier) against the other stream.

    The length and time axis stay the clip's; vacated steps become NaN ("not measured"),
    so nothing wraps around from the other end.
    """
    tm = getattr(clip, modality)
    if tm is None or k == 0:
        return clip
    v = np.full_like(tm.values, np.nan, dtype=np.float32)
    n = tm.n_steps
    if abs(k) < n:
        if k > 0:
            v[k:] = tm.values[: n - k]
        else:
            v[: n + k] = tm.values[-k:]
    return dataclasses.replace(clip, **{modality: dataclasses.replace(tm, values=v)})


def shift_audio(clip: ClipFeatures, seconds: float) -> ClipFeatures:
    """Audio moved later by ``seconds`` (rounded to whole audio steps) against the video."""
    if clip.audio is None:
        return clip
    return shift_steps(clip, int(round(seconds / max(clip.audio.step, 1e-6))), "audio")


def swap_modality(clip: ClipFeatures, other: ClipFeatures, modality: str) -> ClipFeatures:
    """The clip with one modality taken from ``other`` (audio/visual keep their own clock)."""
    if modality == "text":
        return dataclasses.replace(clip, words=other.words)
    if modality not in AV:
        raise MmvizError(f"Unknown modality {modality!r}.", hint=f"Use one of: {', '.join(MODALITIES)}.")
    return dataclasses.replace(clip, **{modality: getattr(other, modality)})


def present_modalities(clip: ClipFeatures, model=None) -> tuple[str, ...]:
    """Modalities the clip has *and* the model reads (a model without visual features ignores video)."""
    cfg = getattr(model, "cfg", None)
    out = []
    if clip.words and clip.transcript.strip():
        out.append("text")
    for m in AV:
        tm = getattr(clip, m)
        reads = cfg is None or getattr(cfg, f"{m}_dim") > 0
        if tm is not None and tm.n_steps > 0 and reads:
            out.append(m)
    return tuple(out)
