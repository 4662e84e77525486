"""What the dataset pages show beside the scored table: the model's verdicts, alignment, similar clips, slices.

Each is derived from a :class:`~mmviz.app_service.datasets.DatasetView` and kept in the view's
folder of the results store (verdicts, slices) or memoised on the view (alignment), so a page
rerun never recomputes it and a second visit never calls the model.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import pandas as pd

from mmviz.app_service.datasets import DatasetView, dataset_features
from mmviz.app_service.service import AppService
from mmviz.data.slices import SliceStore, slice_metrics
from mmviz.errors import MmvizError
from mmviz.explain.dataset_verdicts import DatasetVerdicts, dataset_verdicts
from mmviz.explain.embedding_map import modality_alignment
from mmviz.explain.neighbours import nearest
from mmviz.explain.record import MODALITIES, ExplainSettings
from mmviz.inference.runner import ModelRunner
from mmviz.progress import Progress

#: the pairs of embedding spaces whose alignment the map page shows (equal widths compared as they are,
#: the others through a cross-fitted ridge projection; see ``modality_alignment``)
ALIGNMENT_PAIRS = (("audio", "visual", "none"), ("text", "fused", "none"), ("text", "audio", "ridge"),
                   ("text", "visual", "ridge"))


def verdicts_path(root: Path, baseline: str = "mean") -> Path:
    return Path(root) / f"verdicts-{baseline}.csv"


def load_verdicts(ds: DatasetView, baseline: str = "mean") -> DatasetVerdicts | None:
    """The stored verdicts of this view, if they cover exactly its clips (else None: compute them)."""
    if ds.root is None or not verdicts_path(ds.root, baseline).exists():
        return None
    try:
        v = pd.read_csv(verdicts_path(ds.root, baseline))
    except (OSError, ValueError):
        return None
    if list(v["clip_id"].astype(str)) != list(ds.table["clip_id"].astype(str)):
        return None
    return DatasetVerdicts(tuple(v["clip_id"].astype(str)), v[[f"shap_{m}" for m in MODALITIES]].to_numpy(float),
                           v["shap_base"].to_numpy(float), v["shap_full"].to_numpy(float), ds.checkpoint_hash, baseline)


def with_verdicts(svc: AppService, ds: DatasetView, runner: ModelRunner | None = None, baseline: str = "mean",
                  progress: Progress | None = None) -> DatasetView:
    """The view with the model's verdict columns (``shap_*``, ``model_dominant``, ``model_conflict``).

    Computed once per view (exact modality Shapley of every clip, batched; see
    :mod:`mmviz.explain.dataset_verdicts`) and written beside the view's table.
    """
    if "model_dominant" in ds.table:
        return ds
    v = load_verdicts(ds, baseline)
    if v is None:
        r = runner or svc.runner
        if r.checkpoint_hash != ds.checkpoint_hash:
            raise MmvizError("This dataset view was scored with another checkpoint than the one loaded.",
                             hint="Score the dataset again with the current checkpoint.")
        feats = [dataset_features(svc, row) for _, row in ds.table.iterrows()]
        v = dataset_verdicts(r, feats, ExplainSettings(baseline=baseline), progress=progress)
        if ds.root is not None:
            _write_csv(verdicts_path(ds.root, baseline), pd.DataFrame(
                {"clip_id": list(ds.table["clip_id"].astype(str))} | {f"shap_{m}": v.shapley[:, i] for i, m in enumerate(MODALITIES)}
                | {"shap_base": v.base, "shap_full": v.full}))
    table = ds.table.copy()
    for k, col in v.columns().items():
        table[k] = col
    return dataclasses.replace(ds, table=table)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def alignment_table(ds: DatasetView) -> pd.DataFrame:
    """Matched vs mismatched cosine and cross-modal retrieval R@1/R@5 for ``ALIGNMENT_PAIRS`` (memoised)."""
    if "alignment" not in ds._memo:
        rows = []
        for a, b, proj in ALIGNMENT_PAIRS:
            if a not in ds.embeddings or b not in ds.embeddings:
                continue
            try:
                rep = modality_alignment(ds.embeddings[a], ds.embeddings[b], names=(a, b), projection=proj)
            except MmvizError:  # e.g. no clip has video, or too few clips: that pair is left out
                continue
            rows.append({"pair": f"{a} ↔ {b}", "compared": "as they are" if proj == "none" else f"{a} projected (ridge, cross-fitted)",
                         "cosine matched": rep.mean_cosine, "cosine mismatched": rep.mean_cosine_mismatched,
                         "R@1 →": rep.r_at_1_a_to_b, "R@5 →": rep.r_at_5_a_to_b, "R@1 ←": rep.r_at_1_b_to_a,
                         "R@5 ←": rep.r_at_5_b_to_a, "chance R@1": rep.chance_r_at_1, "chance R@5": rep.chance_r_at_5,
                         "n": rep.n})
        ds._memo["alignment"] = pd.DataFrame(rows)
    return ds._memo["alignment"]


def similar_clips(ds: DatasetView, row: int, space: str = "fused", k: int = 5) -> pd.DataFrame:
    """The ``k`` clips nearest to table row ``row`` in one embedding space (cosine distance), nearest first."""
    if space not in ds.embeddings:
        raise MmvizError(f"This dataset has no {space} embeddings.", hint=f"Choose one of {', '.join(ds.embeddings)}.")
    rows, dist = nearest(ds.embeddings[space], row, k)
    t = ds.table.iloc[rows].copy()
    t.insert(1, "distance", dist)
    t["row"] = rows
    return t


def slice_store(ds: DatasetView) -> SliceStore:
    if ds.root is None:
        raise MmvizError("This dataset view has no folder in the results store, so slices cannot be kept.",
                         hint="Score it through the Dataset explorer or `mmviz score` first.")
    return SliceStore(ds.root)


def view_slice_metrics(ds: DatasetView) -> pd.DataFrame:
    return slice_metrics(ds.table, slice_store(ds).load())


def slice_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Slice metrics as text for a static table: one row per slice and head, numbers rounded, NaN as "n/a"."""
    t = metrics if metrics["n_missing"].any() else metrics.drop(columns=["n_missing"])
    fmt = lambda v: "n/a" if pd.isna(v) else f"{v:.2f}"  # noqa: E731
    return t.assign(**{c: t[c].map(fmt) for c in ("Acc-2", "MAE", "r")}).set_index(["slice", "head"])


__all__ = ["alignment_table", "load_verdicts", "similar_clips", "slice_store", "slice_table", "view_slice_metrics", "with_verdicts"]
