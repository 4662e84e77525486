"""The results store: every record computed once, found again by one key scheme.

The app, ``mmviz score``, ``mmviz explain`` and the Ray engine all read and write here, so a
clip scored in batch opens in the dashboard without recomputation and vice versa. Keys come
from :mod:`mmviz.records.keys`; layout under the store root (default
``<cache>/results``, see :mod:`mmviz.settings`)::

    features/<content>-<transcript input>-<settings>.json|.npz      ClipFeatures
    inspections/<checkpoint>/<features key>.json|.npz                 Inspection
    explanations/<checkpoint>/<features key>-<explain settings>.json  Explanation
    datasets/<name>.csv                                               one row per clip

``<transcript input>`` is which transcript the clip was read with (typed text hash, the
sidecar file's *content* hash, ``asr`` or ``none``); ``<features key>`` is what the model
read (content + transcript words + extraction settings); ``<checkpoint>`` hashes the weights
and the config. Writes are atomic (unique temporary file, then rename), so concurrent
writers and readers never see a half-written record.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from mmviz.errors import MmvizError
from mmviz.records.features import ClipFeatures
from mmviz.records.keys import features_key, settings_key
from mmviz.records.serialize import load_record, save_record


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def default_store_dir() -> Path:
    from mmviz.settings import get_settings

    return get_settings().results_dir


class ResultsStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_store_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    # ---- generic
    def sweep_temporaries(self, min_age_s: float = 30.0) -> int:
        """Delete temporary files left by writers that died mid-write (``kill -9``, power loss).

        A temporary file is ``.<record>.<pid>.<id>.tmp``. It is removed only when its writer's
        process no longer runs on this machine and the file is older than ``min_age_s``, or when
        it is older than a day whatever its pid says (a store shared between machines), so a
        live writer's file is never pulled from under it. Returns how many were removed.
        """
        now, removed = time.time(), 0
        for p in self.root.rglob(".*.tmp"):
            try:
                age = now - p.stat().st_mtime
            except OSError:
                continue
            parts = p.name.split(".")
            pid = int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None
            alive = pid is not None and _process_alive(pid)
            if (age > min_age_s and not alive) or age > 86_400:
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed

    @staticmethod
    def _load(p: Path):
        """The record at ``p``; None when absent or unreadable (it is then recomputed)."""
        if not p.exists():
            return None
        try:
            rec = load_record(p)
        except (MmvizError, OSError):
            return None
        for f in (p, p.with_suffix(".npz")):  # mark as used now: the cache evicts the least recently used
            try:
                os.utime(f)
            except OSError:
                pass
        return rec

    # ---- features
    def features_path(self, content_hash: str, transcript_input: str = "none", settings: Any = None) -> Path:
        from mmviz.features.extract import extraction_key  # settings + descriptor version

        return self.root / "features" / f"{content_hash}-{transcript_input}-{extraction_key(settings)}.json"

    def get_features(self, content_hash: str, transcript_input: str = "none", settings: Any = None) -> ClipFeatures | None:
        return self._load(self.features_path(content_hash, transcript_input, settings))

    def put_features(self, feats: ClipFeatures, transcript_input: str = "none", settings: Any = None) -> Path:
        return save_record(feats, self.features_path(feats.content_hash, transcript_input, settings))

    def find_features(self, content_hash: str) -> ClipFeatures | None:
        """Any stored features of this content (newest first) — for rows that lost their file."""
        found = sorted((self.root / "features").glob(f"{content_hash}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in found:
            if (f := self._load(p)) is not None:
                return f
        return None

    # ---- inspections
    def inspection_path(self, checkpoint_hash: str, feats: ClipFeatures) -> Path:
        return self.root / "inspections" / checkpoint_hash / f"{features_key(feats)}.json"

    def get_inspection(self, checkpoint_hash: str, feats: ClipFeatures):
        return self._load(self.inspection_path(checkpoint_hash, feats))

    def put_inspection(self, ins, feats: ClipFeatures) -> Path:
        if ins.content_hash != feats.content_hash:
            raise ValueError("the inspection is of another clip")
        return save_record(ins, self.inspection_path(ins.checkpoint_hash, feats))

    # ---- explanations
    def explanation_path(self, checkpoint_hash: str, feats: ClipFeatures, settings: Any = None) -> Path:
        return self.root / "explanations" / checkpoint_hash / f"{features_key(feats)}-{settings_key(settings)}.json"

    def get_explanation(self, checkpoint_hash: str, feats: ClipFeatures, settings: Any = None):
        return self._load(self.explanation_path(checkpoint_hash, feats, settings))

    def put_explanation(self, expl, feats: ClipFeatures, settings: Any = None) -> Path:
        return save_record(expl, self.explanation_path(expl.checkpoint_hash, feats, settings))

    # ---- dataset tables
    def dataset_path(self, name: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self.root / "datasets" / f"{safe}.csv"

    def put_dataset(self, name: str, table: pd.DataFrame) -> Path:
        p = self.dataset_path(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(p)
        return p

    def dataset_dir(self, name: str) -> Path:
        """Folder of one scored dataset's table, embeddings and fitted maps (the app's dataset views)."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self.root / "dataset-views" / safe

    def get_dataset(self, name: str) -> pd.DataFrame | None:
        p = self.dataset_path(name)
        return pd.read_csv(p) if p.exists() else None
