"""Regression-sentiment metrics with CMU-MOSI / MMSA's exact definitions.

Follows ``MMSA/utils/metricsTop.py`` (``__eval_mosi_regression``) so numbers are comparable
with published tables: Acc-2 both "has-zero" (truth >= 0 is positive) and "non-zero"
(clips with truth == 0 dropped, > 0 positive), weighted F1 for each, Acc-5/Acc-7 by
``np.round`` (round-half-to-even, as MMSA) after clipping to [-2, 2] / [-3, 3], MAE, Pearson r.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def multiclass_acc(preds: np.ndarray, truths: np.ndarray) -> float:
    """Share of exact matches after rounding to the nearest integer class."""
    return float(np.sum(np.round(preds) == np.round(truths)) / float(len(truths)))


def mmsa_metrics(preds, labels) -> dict[str, float]:
    """All MOSI regression metrics. Empty input raises ValueError; constant input gives r = NaN."""
    p = np.asarray(preds, dtype=np.float64).reshape(-1)
    t = np.asarray(labels, dtype=np.float64).reshape(-1)
    if p.shape != t.shape or p.size == 0:
        raise ValueError(f"need equal, non-empty prediction and label arrays (got {p.size} and {t.size})")
    non_zeros = np.array([i for i, e in enumerate(t) if e != 0], dtype=int)
    mae = float(np.mean(np.abs(p - t)))
    if p.size > 1 and p.std() > 0 and t.std() > 0:
        corr = float(np.corrcoef(p, t)[0][1])
    else:
        corr = float("nan")
    out = {
        "Has0_acc_2": float(accuracy_score(t >= 0, p >= 0)),
        "Has0_F1_score": float(f1_score(t >= 0, p >= 0, average="weighted")),
        "Mult_acc_5": multiclass_acc(np.clip(p, -2.0, 2.0), np.clip(t, -2.0, 2.0)),
        "Mult_acc_7": multiclass_acc(np.clip(p, -3.0, 3.0), np.clip(t, -3.0, 3.0)),
        "MAE": mae,
        "Corr": corr,
    }
    if non_zeros.size:
        out["Non0_acc_2"] = float(accuracy_score(p[non_zeros] > 0, t[non_zeros] > 0))
        out["Non0_F1_score"] = float(f1_score(t[non_zeros] > 0, p[non_zeros] > 0, average="weighted"))
    else:
        out["Non0_acc_2"] = out["Non0_F1_score"] = float("nan")
    return out
