"""``mmviz score --engine ray``: the same scoring as :mod:`mmviz.data.scoring`, on Ray Data.

Decoding + feature extraction is a stateless ``map`` (spread over every CPU of the cluster);
model inspection is a ``map_batches`` over actors that each load the checkpoint once. Results
land in the same results store as local scoring, so the dashboard reads them unchanged. On a
cluster, the store folder and the clip folder must be on a filesystem every node can see
(NFS, a mounted bucket); ``address`` is the cluster's (``ray start --head`` prints it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmviz.errors import MmvizError


def _require_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MmvizError("Ray is not installed, so --engine ray is unavailable.",
                         hint="Install it with: pip install 'ray[data]'  (or score locally without --engine).") from e
    return ray


class _Extract:
    def __init__(self, store_root: str) -> None:
        from mmviz.data.store import ResultsStore

        self.store = ResultsStore(store_root)

    def __call__(self, row: dict) -> dict:
        from mmviz.data.scoring import features_for

        p = Path(row["path"])
        try:
            f = features_for(p, self.store)
            return {"path": str(p), "clip_id": p.stem, "content_hash": f.content_hash, "duration": f.duration, "error": ""}
        except MmvizError as e:
            return {"path": str(p), "clip_id": p.stem, "content_hash": "", "duration": 0.0, "error": str(e)}


class _Inspect:
    """One per Ray worker: loads the checkpoint once, then inspects batches of clips."""

    def __init__(self, checkpoint: str | None, store_root: str) -> None:
        from mmviz.data.store import ResultsStore
        from mmviz.inference.runner import ModelRunner

        self.runner = ModelRunner.from_checkpoint(checkpoint)
        self.store = ResultsStore(store_root)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from mmviz.data.scoring import _prediction_row, score_features

        ok = batch["error"] == ""
        feats = [self.store.get_features(h, "sidecar") or self.store.get_features(h) for h in batch.loc[ok, "content_hash"]]
        preds = [_prediction_row(i) for i in score_features(feats, self.runner, self.store)] if feats else []
        extra = pd.DataFrame(preds, index=batch.index[ok])
        return batch.join(extra) if len(extra.columns) else batch


def score_folder_ray(folder: str | Path, checkpoint: str | None, store_root: str | Path, *, address: str | None = None,
                     batch_size: int = 8, workers: int = 1) -> pd.DataFrame:
    """Score every clip in ``folder`` with Ray Data; returns the same table as local scoring."""
    from mmviz.data.scoring import list_clips
    from mmviz.data.store import ResultsStore

    ray = _require_ray()
    paths = list_clips(folder)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([{"path": str(p)} for p in paths])
        ds = ds.map(_Extract, fn_constructor_kwargs={"store_root": str(store_root)}, concurrency=max(1, workers))
        ds = ds.map_batches(_Inspect, fn_constructor_kwargs={"checkpoint": checkpoint, "store_root": str(store_root)},
                            batch_size=batch_size, batch_format="pandas", concurrency=max(1, workers))
        table = ds.to_pandas()
    finally:
        if started:
            ray.shutdown()
    table = table.sort_values("clip_id").reset_index(drop=True)
    ResultsStore(store_root).put_dataset(f"{Path(folder).resolve().name}-ray", table)
    return table
