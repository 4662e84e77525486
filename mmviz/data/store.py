"""The results store: records computed once, found again by content and checkpoint hash.

Layout under the store root (default ``$MMVIZ_CACHE/results``)::

    features/<content_hash>-<settings_key>.json|.npz    ClipFeatures
    inspections/<checkpoint_hash>/<content_hash>.json|.npz
    datasets/<name>.csv                                   one row per clip: clip_id, path, content_hash, label, ...

A batch job (``mmviz score``) fills it; the dashboard reads it and never recomputes what is
already there. Writes are atomic (write-then-rename), so concurrent readers never see a
half-written record.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.records.serialize import load_record, save_record


def default_store_dir() -> Path:
    return Path(os.environ.get("MMVIZ_CACHE", Path.home() / ".cache" / "mmviz")) / "results"


def settings_key(settings: Any) -> str:
    """Short stable hash of extraction settings (dataclass, dict or None)."""
    if settings is None:
        return "default"
    if hasattr(settings, "__dataclass_fields__"):
        from dataclasses import asdict

        settings = asdict(settings)
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]


class ResultsStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_store_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    # ---- features
    def features_path(self, content_hash: str, skey: str = "default") -> Path:
        return self.root / "features" / f"{content_hash}-{skey}.json"

    def get_features(self, content_hash: str, skey: str = "default") -> ClipFeatures | None:
        p = self.features_path(content_hash, skey)
        return load_record(p) if p.exists() else None

    def put_features(self, feats: ClipFeatures, skey: str = "default") -> Path:
        return save_record(feats, self.features_path(feats.content_hash, skey))

    # ---- inspections
    def inspection_path(self, checkpoint_hash: str, content_hash: str) -> Path:
        return self.root / "inspections" / checkpoint_hash / f"{content_hash}.json"

    def get_inspection(self, checkpoint_hash: str, content_hash: str) -> Inspection | None:
        p = self.inspection_path(checkpoint_hash, content_hash)
        return load_record(p) if p.exists() else None

    def put_inspection(self, ins: Inspection) -> Path:
        return save_record(ins, self.inspection_path(ins.checkpoint_hash, ins.content_hash))

    # ---- dataset tables
    def dataset_path(self, name: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self.root / "datasets" / f"{safe}.csv"

    def put_dataset(self, name: str, table: pd.DataFrame) -> Path:
        p = self.dataset_path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp.csv")
        table.to_csv(tmp, index=False)
        tmp.replace(p)
        return p

    def get_dataset(self, name: str) -> pd.DataFrame | None:
        p = self.dataset_path(name)
        return pd.read_csv(p) if p.exists() else None
