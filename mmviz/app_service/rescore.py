"""The dataset an analyst has open, scored by another checkpoint (for Compare, competition, alignment on/off).

Why: those views need the *same clips* under a second model. The demo set goes through its own
cached path (a shipped view may exist); any other view (a folder, labelled uploads, clips scored
from the library) is re-scored from the features the results store already holds for its rows,
with the labels of the open view, so no folder or labels CSV has to be typed again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmviz.app_service.datasets import DatasetView, dataset_features, score_clips, score_dataset
from mmviz.app_service.service import AppService
from mmviz.app_service.view_extras import with_verdicts
from mmviz.data.competition import ModelReadout
from mmviz.errors import MmvizError
from mmviz.inference.runner import ModelRunner
from mmviz.records.keys import short_hash
from mmviz.records.modalities import MODALITIES


def view_under(svc: AppService, ds: DatasetView, runner: ModelRunner, *, verdicts: bool = False, progress=None) -> DatasetView:
    """``ds``'s clips scored by ``runner`` (``ds`` itself when it already is), with verdict columns if asked."""
    if ds.table is None or len(ds.table) == 0:
        raise MmvizError("The open dataset has no clips.", hint="Open a dataset with clips in the Dataset explorer.")
    if runner.checkpoint_hash == ds.checkpoint_hash:
        out = ds
    elif ds.source == "demo":
        out = score_dataset(svc, "demo", None, runner=runner)
    else:
        feats = [dataset_features(svc, row) for _, row in ds.table.iterrows()]
        labels = [None if pd.isna(v) else float(v) for v in pd.to_numeric(ds.table["label"], errors="coerce")]
        tag = short_hash(*(f"{f.content_hash}:{lab}" for f, lab in zip(feats, labels)), n=8)
        out = score_clips(svc, f"{ds.source} [{tag}]", feats, labels, runner=runner)
    return with_verdicts(svc, out, runner=runner, progress=progress) if verdicts else out


def readout(ds: DatasetView, name: str, runner: ModelRunner) -> ModelReadout:
    """The per-modality embeddings and head scores of a view, for the competition diagnostics."""
    emb = {m: np.asarray(ds.embeddings[m], dtype=np.float64) for m in MODALITIES if m in ds.embeddings}
    heads = {m: ds.table[f"pred_{m}"].to_numpy(float) for m in MODALITIES if f"pred_{m}" in ds.table}
    return ModelReadout(name=name, checkpoint_hash=ds.checkpoint_hash, strategy=str(runner.cfg.strategy), embeddings=emb,
                        heads=heads)


def parse_specs(text: str) -> list[str]:
    """Checkpoint folders typed by the user: one per line or comma separated, blanks dropped, order kept."""
    out = [s.strip() for s in str(text or "").replace(",", "\n").splitlines()]
    return list(dict.fromkeys(s for s in out if s))


__all__ = ["parse_specs", "readout", "view_under"]
