"""Dataset-level verdicts from the model itself (M2Lens-style summaries over many clips).

For every clip, the exact Shapley values of the three modalities are computed by the model
(the same coalition values and the same exact formula as :class:`mmviz.explain.shapley.ShapleyExplainer`:
8 coalitions, ``shapley_from_values``), but batched across clips: the coalition inputs of
``batch_clips`` clips go through the fusion part of the model together, and the frozen LM reads
each distinct transcript once (the real one of each clip and the shared empty one).

From those values two verdicts per clip, both the model's own:

* ``dominant``: the modality with the largest |Shapley value| (the one that moved the fused
  prediction most from the all-removed baseline); "none" when every value is below
  ``DOMINANT_MIN`` (the clip's modalities together move the prediction by less than that).
* ``conflict``: at least one modality pushes the prediction up by ≥ ``CONFLICT_MIN`` and
  another pushes it down by ≥ ``CONFLICT_MIN`` (sentiment points on the [-3, 3] scale).
  Why 0.25: an eighth of a sentiment class step (classes are 1 apart) is too little to be a
  disagreement anyone would act on, while the model's heads on the demo set reach ±1…±3; the
  threshold is stored with every record, so a different choice is visible.

Planted answers of the demo generator are *not* used here; pages show them beside these
columns, labelled ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from mmviz.explain.base import ClipContext, NothingToExplainError
from mmviz.explain.record import MODALITIES, ExplainSettings
from mmviz.explain.shapley import shapley_from_values
from mmviz.features.ablate import remove
from mmviz.progress import Progress, report
from mmviz.records.features import ClipFeatures

CONFLICT_MIN = 0.25  # sentiment points; see the module docstring
DOMINANT_MIN = 1e-6  # below this every modality is "no effect" and the verdict is "none"
COALITIONS = tuple(s for r in range(len(MODALITIES) + 1) for s in combinations(MODALITIES, r))


@dataclass(frozen=True)
class DatasetVerdicts:
    """Per-clip modality Shapley values of a dataset, computed by one checkpoint.

    clip_ids: (n,) clip ids in the dataset table's row order.
    shapley: float64 (n, 3) Shapley value of text, audio, visual (sentiment points; a row sums to
        ``full - base``); NaN rows for clips with nothing the model reads.
    base: float64 (n,) fused prediction with every modality removed. full: (n,) with none removed.
    checkpoint_hash: the checkpoint that computed them. baseline: what a removed audio/visual
        input became (``ExplainSettings.baseline``). conflict_min: the threshold of ``conflict``.
    """

    clip_ids: tuple[str, ...]
    shapley: np.ndarray
    base: np.ndarray
    full: np.ndarray
    checkpoint_hash: str
    baseline: str = "mean"
    conflict_min: float = CONFLICT_MIN
    settings: dict = field(default_factory=dict)

    @property
    def dominant(self) -> np.ndarray:
        """(n,) the modality with the largest |Shapley value| ("none" below ``DOMINANT_MIN`` or NaN)."""
        a = np.abs(np.nan_to_num(self.shapley, nan=0.0))
        names = np.array(MODALITIES, dtype=object)[a.argmax(1)] if len(a) else np.array([], dtype=object)
        return np.where(a.max(1, initial=0.0) < DOMINANT_MIN, "none", names).astype(object)

    @property
    def conflict(self) -> np.ndarray:
        """(n,) bool: one modality pushes up by ≥ ``conflict_min`` and another down by ≥ it."""
        s = np.nan_to_num(self.shapley, nan=0.0)
        return (s >= self.conflict_min).any(1) & (s <= -self.conflict_min).any(1)

    def columns(self) -> dict[str, np.ndarray]:
        """The dataset-table columns (declared in :mod:`mmviz.data.table`)."""
        out = {f"shap_{m}": self.shapley[:, i] for i, m in enumerate(MODALITIES)}
        return out | {"shap_base": self.base, "model_dominant": self.dominant, "model_conflict": self.conflict}


def dataset_verdicts(runner, features: Sequence[ClipFeatures], settings: ExplainSettings | None = None, *,
                     batch_clips: int = 8, progress: Progress | None = None) -> DatasetVerdicts:
    """Exact modality Shapley values of every clip (see the module docstring), batched across clips."""
    # normalise
    feats = list(features)
    settings = settings or ExplainSettings()
    batch_clips = max(1, int(batch_clips))
    # validate (per clip: a clip with nothing to read gets a NaN row, it does not stop the dataset)
    ctxs: list[ClipContext | None] = []
    for f in feats:
        try:
            ctxs.append(ClipContext.build(runner, f, settings))
        except NothingToExplainError:
            ctxs.append(None)
    # compute
    n = len(feats)
    phi, base, full = np.full((n, 3), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    live = [i for i, c in enumerate(ctxs) if c is not None]
    for start in range(0, len(live), batch_clips):
        idx = live[start : start + batch_clips]
        for i, values in zip(idx, _coalition_values([ctxs[i] for i in idx])):
            s = shapley_from_values(values)
            phi[i] = [s[m] for m in MODALITIES]
            base[i], full[i] = values[()], values[MODALITIES]
        report(progress, f"Shapley verdicts: {min(start + batch_clips, len(live))} of {len(live)} clips",
               min(start + batch_clips, len(live)) / max(len(live), 1))
    # build
    return DatasetVerdicts(clip_ids=tuple(str(f.clip_id) for f in feats), shapley=phi, base=base, full=full,
                           checkpoint_hash=str(runner.checkpoint_hash), baseline=settings.baseline,
                           settings={"method": "exact modality Shapley (8 coalitions)", "baseline": settings.baseline,
                                     "batch_clips": batch_clips})


def _coalition_values(ctxs: list[ClipContext]) -> list[dict[tuple[str, ...], float]]:
    """Every coalition's fused prediction for each clip, in one batched pass over all the clips."""
    plans, clips = [], []
    for ctx in ctxs:  # the same canonical coalitions as ShapleyExplainer._values: absent modalities collapse
        canon = {s: tuple(m for m in s if m in ctx.present) for s in COALITIONS}
        unique = list(dict.fromkeys(canon.values()))
        plans.append((canon, len(clips), unique))
        clips += [remove(ctx.features, tuple(m for m in ctx.present if m not in c), ctx.settings.baseline, ctx.other)
                  for c in unique]
    preds = ctxs[0].predict(clips)  # the LM prefixes are cached per distinct transcript inside this context
    out = []
    for canon, at, unique in plans:
        got = dict(zip(unique, preds[at : at + len(unique)]))
        out.append({s: float(got[canon[s]]) for s in COALITIONS})
    return out


def summarise(dominant: Sequence[str], conflict: Sequence[bool], correct: Sequence | None = None) -> dict:
    """Share of clips each modality dominates, conflict rate, and (when ``correct`` is given: 1/0/NaN
    per clip) the error rate among clips of each verdict. Pure arithmetic over the verdict columns."""
    d = np.asarray(list(dominant), dtype=object)
    c = np.asarray(list(conflict), dtype=bool)
    n = len(d)
    out: dict = {"n": n, "dominant_share": {m: float((d == m).mean()) if n else float("nan") for m in (*MODALITIES, "none")},
                 "conflict_rate": float(c.mean()) if n else float("nan")}
    if correct is not None:
        ok = np.asarray(list(correct), dtype=float)
        lab = ~np.isnan(ok)

        def err(mask: np.ndarray) -> tuple[float, int]:
            m = mask & lab
            return (float(1.0 - ok[m].mean()) if m.any() else float("nan")), int(m.sum())

        out["error_by_dominant"] = {m: err(d == m) for m in (*MODALITIES, "none")}
        out["error_by_conflict"] = {"conflict": err(c), "no conflict": err(~c)}
    return out
