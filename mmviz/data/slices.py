"""Analyst slices of a dataset: named sets of clips (saved from a map/table selection or tagged one by one).

Why a file of their own: slices are the analyst's work, not a result — they must survive a
restart and stay with the dataset view they were made on (its folder in the results store),
while the view itself is never rewritten. The file is ``slices.json`` in that folder::

    {"version": 1, "slices": {"<name>": {"clips": ["<clip_id>", ...], "note": "..."}}}

Every change re-reads the file, changes it and writes it atomically (unique temporary file,
then rename) under a process lock, so two users of one server never lose each other's slice
and a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.errors import MmvizError

FILE = "slices.json"
HEADS = ("fused", "text", "audio", "visual")
MAX_NAME = 60
_LOCK = threading.Lock()


class SliceError(MmvizError):
    """A slice name or selection the user gave cannot be used."""

    kind = "slice"


class SliceStore:
    """The named slices of one dataset view (``folder`` is the view's folder in the results store)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / FILE

    def load(self) -> dict[str, list[str]]:
        """{name: clip ids} (empty when there is no file or it cannot be read)."""
        try:
            doc = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        raw = doc.get("slices", {}) if isinstance(doc, dict) else {}
        return {str(k): [str(c) for c in v.get("clips", [])] for k, v in raw.items() if isinstance(v, dict)}

    def save(self, name: str, clip_ids: Iterable[str], *, add: bool = False) -> list[str]:
        """Create (or replace) the slice ``name``; ``add=True`` tags the clips into it instead. Returns its clips."""
        name = _check_name(name)
        ids = [str(c) for c in clip_ids]
        if not ids:
            raise SliceError("No clips are selected, so there is nothing to save.",
                             hint="Select points on the map (click, box or lasso) or a table row first.")
        with _LOCK:
            slices = self.load()
            old = slices.get(name, []) if add else []
            slices[name] = list(dict.fromkeys(old + ids))
            self._write(slices)
        return slices[name]

    def delete(self, name: str) -> None:
        with _LOCK:
            slices = self.load()
            slices.pop(name, None)
            self._write(slices)

    def _write(self, slices: dict[str, list[str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps({"version": 1, "slices": {k: {"clips": v} for k, v in slices.items()}}, indent=1))
        tmp.replace(self.path)


def _check_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise SliceError("Give the slice a name.", hint="Type a short name, e.g. 'loud audio, wrong'.")
    if len(name) > MAX_NAME:
        raise SliceError(f"The slice name is {len(name)} characters long; keep it under {MAX_NAME}.")
    return name


def slice_metrics(table: pd.DataFrame, slices: dict[str, list[str]]) -> pd.DataFrame:
    """Acc-2 (has-zero: label ≥ 0 is positive, as MMSA), MAE, Pearson r and n per slice and head.

    One row per (slice, head); ``n`` counts the slice's labelled clips that are in ``table``
    (clips no longer in the table are ignored, ``n_missing`` says how many). r is NaN for fewer
    than 2 clips or a constant column. An "all clips" row comes first for comparison.
    """
    lab = pd.to_numeric(table["label"], errors="coerce")
    ids = table["clip_id"].astype(str)
    rows = []
    for name, clips in [("all clips", list(ids))] + list(slices.items()):
        inside = ids.isin(set(clips))
        m = inside & lab.notna()
        y = lab[m].to_numpy(float)
        for head in HEADS:
            p = pd.to_numeric(table.loc[m, f"pred_{head}"], errors="coerce").to_numpy(float)
            ok = np.isfinite(p)
            pp, yy = p[ok], y[ok]
            r = float(np.corrcoef(pp, yy)[0, 1]) if len(pp) > 1 and pp.std() > 0 and yy.std() > 0 else float("nan")
            rows.append({"slice": name, "head": head, "n": int(len(pp)), "Acc-2": float(((pp >= 0) == (yy >= 0)).mean()) if len(pp) else float("nan"),
                         "MAE": float(np.abs(pp - yy).mean()) if len(pp) else float("nan"), "r": r,
                         "n_missing": len(set(clips) - set(ids))})
    return pd.DataFrame(rows, columns=["slice", "head", "n", "Acc-2", "MAE", "r", "n_missing"])
