"""Modality competition: is a modality "crowded out" inside the fused model?

Why: a fused model can lean on its easiest modality and let the others' representations go
unused (modality competition; Huang et al. 2022, "Modality Competition: What Makes Joint
Training of Multi-modal Network Fail"). Two checks read that off the embeddings and heads
a dataset view already holds, without calling the model:

* **Linear probes.** A cross-validated ridge regression from each modality's pooled embedding
  *inside the fused model* to the labels, against the same probe on a *reference* checkpoint
  whose encoders learnt alone (a uni-modal ensemble, UME, or a unimodal run). A modality the
  fused model crowded out carries less label information inside it than the same encoder
  trained alone.
* **Unimodal heads.** The fused model's text/audio/visual heads against the reference's heads
  (for a UME: its independently trained members), Acc-2 / MAE / Pearson r on the labels.

Rule (``CROWDED_RULE``): a modality is *crowded out* when its probe Acc-2 inside the fused model
is at least ``margin`` (default 0.10) below the reference probe's Acc-2 **and** the reference
probe beats the majority-class rate (the modality carries signal on its own). Probes are
cross-fitted (each clip predicted by a ridge fitted on the other folds), seeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmviz.errors import DatasetError, MmvizError
from mmviz.explain.embedding_map import crossfit_ridge
from mmviz.records.modalities import MODALITIES
from mmviz.records.serialize import register_record

MIN_LABELLED = 10  # 5 folds of at least 2 clips
DEFAULT_MARGIN = 0.10
DEFAULT_ALPHA = 1.0
DEFAULT_FOLDS = 5
CROWDED_RULE = ("crowded out = probe Acc-2 inside the fused model ≥ {margin:.2f} below the reference probe's Acc-2, "
                "and the reference probe beats the majority-class rate")


@dataclass(frozen=True)
class ModelReadout:
    """What one checkpoint computed on the clips of a dataset (rows in the same clip order).

    name: how the page names it (a spec or folder). checkpoint_hash; strategy ("deep", "ume", …).
    embeddings: {modality: float (n, d)} pooled embeddings (``Inspection.embeddings``).
    heads: {modality: float (n,)} the unimodal heads' scores (``pred_text`` …; a UME's members).
    """

    name: str
    checkpoint_hash: str
    strategy: str
    embeddings: Mapping[str, np.ndarray]
    heads: Mapping[str, np.ndarray]


@register_record
@dataclass(frozen=True)
class CompetitionReport:
    """Linear probes and unimodal heads of a fused checkpoint vs a reference, per modality.

    modalities: the modalities scored, in order. n: labelled clips used. majority: share of the
        larger class (Acc-2 ≥ 0), the floor a probe must beat.
    probe_fused / probe_reference: {modality: {"acc2", "mae", "r"}} of the cross-fitted ridge probe
        on that checkpoint's embedding (reference empty when none was given).
    heads_fused / heads_reference: {modality: {"acc2", "mae", "r"}} of the unimodal heads.
    crowded_out: modalities flagged by the rule (empty without a reference).
    fused_checkpoint / reference_checkpoint (hash, "" when none) and their strategies.
    margin: the Acc-2 gap of the rule. seed; settings: probe alpha, folds, the rule in words.
    """

    modalities: tuple[str, ...]
    n: int
    majority: float
    probe_fused: dict
    probe_reference: dict
    heads_fused: dict
    heads_reference: dict
    crowded_out: tuple[str, ...]
    fused_checkpoint: str
    reference_checkpoint: str
    fused_strategy: str
    reference_strategy: str
    margin: float
    seed: int
    settings: dict = field(default_factory=dict)

    @property
    def has_reference(self) -> bool:
        return bool(self.reference_checkpoint)

    @property
    def rule(self) -> str:
        return CROWDED_RULE.format(margin=self.margin)

    def table(self) -> pd.DataFrame:
        """One row per modality: probe and head scores of both checkpoints, the probe gap and the flag."""
        rows = []
        for m in self.modalities:
            pf, pr = self.probe_fused[m], self.probe_reference.get(m, {})
            hf, hr = self.heads_fused.get(m, {}), self.heads_reference.get(m, {})
            rows.append({"modality": m, "probe Acc-2 (fused)": pf["acc2"], "probe Acc-2 (reference)": pr.get("acc2", np.nan),
                         "probe gap": pf["acc2"] - pr.get("acc2", np.nan),
                         "probe MAE (fused)": pf["mae"], "probe MAE (reference)": pr.get("mae", np.nan),
                         "head Acc-2 (fused)": hf.get("acc2", np.nan), "head Acc-2 (reference)": hr.get("acc2", np.nan),
                         "head MAE (fused)": hf.get("mae", np.nan), "head MAE (reference)": hr.get("mae", np.nan),
                         "head r (fused)": hf.get("r", np.nan), "head r (reference)": hr.get("r", np.nan),
                         "crowded out": m in self.crowded_out})
        return pd.DataFrame(rows)


def scores(pred, labels) -> dict[str, float]:
    """Acc-2 (has-zero: label ≥ 0 is positive, as MMSA), MAE and Pearson r (NaN when constant)."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1)
    t = np.asarray(labels, dtype=np.float64).reshape(-1)
    r = float(np.corrcoef(p, t)[0, 1]) if p.size > 1 and p.std() > 0 and t.std() > 0 else float("nan")
    return {"acc2": float(((p >= 0) == (t >= 0)).mean()), "mae": float(np.abs(p - t).mean()), "r": r}


def linear_probe(emb, labels, *, alpha: float = DEFAULT_ALPHA, folds: int = DEFAULT_FOLDS, seed: int = 0) -> dict[str, float]:
    """Acc-2 / MAE / r of a cross-fitted ridge probe from an embedding (n, d) to the labels (n,).

    Each clip is predicted by a ridge fitted on the other folds (never on itself); embeddings are
    standardised per dimension first so no one dimension's scale decides the penalty.
    """
    x = np.asarray(emb, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    sd = x.std(0)
    x = (x - x.mean(0)) / np.where(sd > 1e-12, sd, 1.0)
    return scores(crossfit_ridge(x, y, alpha=alpha, folds=folds, seed=seed), y)


def competition_report(
    fused: ModelReadout,
    labels,
    reference: ModelReadout | None = None,
    *,
    margin: float = DEFAULT_MARGIN,
    alpha: float = DEFAULT_ALPHA,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> CompetitionReport:
    """Probe and head scores of ``fused`` (and ``reference``, same clips in the same order) on ``labels``.

    Clips without a label (NaN) are left out. Needs at least ``MIN_LABELLED`` labelled clips and
    both classes among them; a modality missing from either checkpoint's embeddings is skipped.
    """
    # normalise
    y_all = np.asarray(pd.to_numeric(pd.Series(np.asarray(labels).reshape(-1)), errors="coerce"), dtype=np.float64)
    keep = np.isfinite(y_all)
    y = y_all[keep]
    mods = tuple(m for m in MODALITIES if m in fused.embeddings and (reference is None or m in reference.embeddings))
    # validate
    n_all = len(y_all)
    for ro in (fused, reference):
        if ro is None:
            continue
        for m in mods:
            if len(ro.embeddings[m]) != n_all or (m in ro.heads and len(ro.heads[m]) != n_all):
                raise MmvizError(f"{ro.name} has {len(ro.embeddings[m])} {m} embeddings for {n_all} labels; "
                                 "give both checkpoints' outputs on the same clips.")
    if len(y) < MIN_LABELLED:
        raise DatasetError(f"The competition diagnostics need at least {MIN_LABELLED} labelled clips; this dataset has {len(y)}.",
                           hint="Open a dataset with more labelled clips (a labels CSV in the Dataset explorer).")
    if (y >= 0).all() or (y < 0).all():
        raise DatasetError("All labelled clips are on one side of zero, so Acc-2 cannot tell a probe from a constant.",
                           hint="Use a dataset with both positive and negative labels.")
    if not mods:
        raise MmvizError("Neither checkpoint has text, audio or visual embeddings to probe.")
    if not (0 <= margin < 1):
        raise MmvizError(f"The margin must be in [0, 1); got {margin}.")
    # compute
    majority = float(max((y >= 0).mean(), (y < 0).mean()))
    pf = {m: linear_probe(np.asarray(fused.embeddings[m])[keep], y, alpha=alpha, folds=folds, seed=seed) for m in mods}
    hf = {m: scores(np.asarray(fused.heads[m])[keep], y) for m in mods if m in fused.heads}
    pr, hr = {}, {}
    if reference is not None:
        pr = {m: linear_probe(np.asarray(reference.embeddings[m])[keep], y, alpha=alpha, folds=folds, seed=seed) for m in mods}
        hr = {m: scores(np.asarray(reference.heads[m])[keep], y) for m in mods if m in reference.heads}
    crowded = tuple(m for m in mods if pr and crowded_out(pf[m]["acc2"], pr[m]["acc2"], majority, margin))
    # build
    return CompetitionReport(
        modalities=mods, n=int(len(y)), majority=majority, probe_fused=pf, probe_reference=pr, heads_fused=hf,
        heads_reference=hr, crowded_out=crowded, fused_checkpoint=fused.checkpoint_hash,
        reference_checkpoint=reference.checkpoint_hash if reference is not None else "", fused_strategy=fused.strategy,
        reference_strategy=reference.strategy if reference is not None else "", margin=float(margin), seed=int(seed),
        settings={"probe": "ridge, cross-fitted, standardised inputs", "alpha": float(alpha), "folds": int(min(folds, len(y))),
                  "rule": CROWDED_RULE.format(margin=margin), "fused_name": fused.name,
                  "reference_name": reference.name if reference is not None else ""})


def crowded_out(acc_fused: float, acc_reference: float, majority: float, margin: float = DEFAULT_MARGIN) -> bool:
    """The rule in ``CROWDED_RULE``: much weaker inside the fused model than alone, and informative alone."""
    return bool(acc_reference - acc_fused >= margin - 1e-12 and acc_reference > majority)


__all__ = ["CROWDED_RULE", "MIN_LABELLED", "CompetitionReport", "ModelReadout", "competition_report", "crowded_out",
           "linear_probe", "scores"]
