"""Two or more checkpoints on the same scored dataset: metrics, flips, verdict changes, Shapley shifts.

Why: "is B better than A?" is one number; "where do they disagree, and does B read the clips
differently?" is what an analyst needs before swapping models. Everything here is read from the
dataset tables each checkpoint's view already holds (predictions, and the model's verdict
columns ``shap_*`` / ``model_dominant`` from :mod:`mmviz.explain.dataset_verdicts`); the first
checkpoint is the baseline every other one is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmviz.data.metrics import mmsa_metrics
from mmviz.errors import MmvizError
from mmviz.records.modalities import MODALITIES

METRIC_KEYS = ("Has0_acc_2", "Has0_F1_score", "Mult_acc_7", "MAE", "Corr")


@dataclass(frozen=True)
class CheckpointComparison:
    """Checkpoints compared on one dataset (clips matched by ``clip_id``; the first name is the baseline).

    names: checkpoint names in order. n: clips every checkpoint scored.
    metrics: one row per checkpoint, MMSA metrics of the fused head on the labelled clips (NaN without labels).
    predictions: one row per clip: clip_id, label, ``pred:<name>`` per checkpoint, and for each other
        checkpoint ``flip:<name>`` (its predicted class differs from the baseline's; class = score ≥ 0).
    flips: {name: number of clips whose class flips against the baseline}.
    verdicts: one row per clip whose dominant modality (the model's verdict) changes against the baseline,
        columns clip_id, ``dominant:<name>`` per checkpoint (empty when no view has verdicts).
    shapley_shift: one row per (other checkpoint, modality): mean signed and mean absolute change of that
        modality's exact Shapley value against the baseline (empty when verdicts are missing).
    """

    names: tuple[str, ...]
    n: int
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    flips: dict
    verdicts: pd.DataFrame
    shapley_shift: pd.DataFrame

    @property
    def has_verdicts(self) -> bool:
        return not self.shapley_shift.empty


def compare_tables(tables: Mapping[str, pd.DataFrame]) -> CheckpointComparison:
    """Compare the tables of one dataset scored by several checkpoints (``{name: table}``, baseline first)."""
    # normalise
    names = tuple(str(k) for k in tables)
    # validate
    if len(names) < 2:
        raise MmvizError("Choose at least two checkpoints to compare.")
    for nm, t in tables.items():
        if t is None or len(t) == 0:
            raise MmvizError(f"The dataset scored with {nm} has no clips.", hint="Open a dataset that holds clips.")
        if "clip_id" not in t or "pred_fused" not in t:
            raise MmvizError(f"The table of {nm} has no clip_id / pred_fused columns; score the dataset again.")
    # compute
    base = tables[names[0]]
    j = base[["clip_id"] + (["label"] if "label" in base else [])].copy()
    j["clip_id"] = j["clip_id"].astype(str)
    for nm, t in tables.items():
        j = j.merge(_one(t)[["clip_id", "pred_fused"]].rename(columns={"pred_fused": f"pred:{nm}"}), on="clip_id", how="inner")
    if j.empty:
        raise MmvizError("The checkpoints scored no clip in common.", hint="Compare checkpoints on the same dataset.")
    flips = {}
    for nm in names[1:]:
        j[f"flip:{nm}"] = (j[f"pred:{nm}"] >= 0) != (j[f"pred:{names[0]}"] >= 0)
        flips[nm] = int(j[f"flip:{nm}"].sum())
    lab = pd.to_numeric(j["label"], errors="coerce") if "label" in j else pd.Series(np.nan, index=j.index)
    ok = lab.notna().to_numpy()
    mrows = []
    for nm in names:
        m = mmsa_metrics(j.loc[ok, f"pred:{nm}"].to_numpy(float), lab[ok].to_numpy(float)) if ok.any() else {}
        mrows.append({"checkpoint": nm} | {k: m.get(k, np.nan) for k in METRIC_KEYS} | {"flips vs baseline": flips.get(nm, 0)})
    verdicts, shift = _verdict_changes(tables, names, j["clip_id"])
    # build
    return CheckpointComparison(names=names, n=int(len(j)), metrics=pd.DataFrame(mrows), predictions=j, flips=flips,
                                verdicts=verdicts, shapley_shift=shift)


def _one(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["clip_id"] = t["clip_id"].astype(str)
    return t.drop_duplicates("clip_id")


def _verdict_changes(tables: Mapping[str, pd.DataFrame], names: tuple[str, ...], ids: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = [f"shap_{m}" for m in MODALITIES]
    if not all("model_dominant" in t and all(c in t for c in cols) for t in tables.values()):
        return pd.DataFrame(), pd.DataFrame()
    per = {nm: _one(tables[nm]).set_index("clip_id").loc[list(ids)] for nm in names}
    base = per[names[0]]
    dom = pd.DataFrame({"clip_id": list(ids)} | {f"dominant:{nm}": per[nm]["model_dominant"].astype(str).to_numpy() for nm in names})
    changed = np.zeros(len(dom), dtype=bool)
    for nm in names[1:]:
        changed |= dom[f"dominant:{nm}"].to_numpy() != dom[f"dominant:{names[0]}"].to_numpy()
    rows = []
    for nm in names[1:]:
        for m in MODALITIES:
            d = per[nm][f"shap_{m}"].to_numpy(float) - base[f"shap_{m}"].to_numpy(float)
            rows.append({"checkpoint": nm, "modality": m, "mean shift": float(np.nanmean(d)),
                         "mean |shift|": float(np.nanmean(np.abs(d))),
                         "verdict changes": int((per[nm]["model_dominant"].astype(str).to_numpy()
                                                 != base["model_dominant"].astype(str).to_numpy()).sum())})
    return dom[changed].reset_index(drop=True), pd.DataFrame(rows)


__all__ = ["METRIC_KEYS", "CheckpointComparison", "compare_tables"]
