"""Labelled datasets of ClipFeatures for training and evaluation.

Two on-disk formats are read:

* a **features folder** (what ``mmviz demo-corpus --features-only`` and ``mmviz features``
  write): ClipFeatures records (``*.json`` + ``*.npz``) and a ``metadata.csv`` (or
  ``labels.csv``) with at least ``clip_id`` and ``label``; optional ``split``
  (train/valid/test; when absent, a stable hash of the clip id assigns 80/10/10);
* an **MMSA pickle** (``{"train": {"audio", "vision", "raw_text", "regression_labels", "id"}, ...}``),
  read through a restricted unpickler. MMSA features carry no clock, so their steps are
  given a nominal 0.1 s spacing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.errors import DatasetError
from mmviz.records.features import ClipFeatures, MediaInfo, TimedMatrix, Word
from mmviz.records.serialize import load_record

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class LabelledClip:
    features: ClipFeatures
    label: float
    split: str
    meta: dict


def stable_split(clip_id: str, valid: float = 0.1, test: float = 0.1) -> str:
    u = int(hashlib.sha256(clip_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if u < test else "valid" if u < test + valid else "train"


def _find_record(folder: Path, clip_id: str, row: pd.Series) -> Path:
    for col in ("features", "record", "features_path", "file"):
        if col in row and isinstance(row[col], str) and row[col].endswith(".json"):
            return folder / row[col]
    for cand in (folder / f"{clip_id}.json", folder / f"{clip_id}.features.json", folder / "features" / f"{clip_id}.json"):
        if cand.exists():
            return cand
    raise DatasetError(f"No features record for clip {clip_id!r} in {folder}.")


def load_features_dir(folder: str | Path) -> list[LabelledClip]:
    """Read a features folder (records + metadata.csv/labels.csv)."""
    d = Path(folder)
    table = next((d / n for n in ("metadata.csv", "labels.csv", "index.csv") if (d / n).exists()), None)
    if table is None:
        raise DatasetError(f"{d} has no metadata.csv or labels.csv.", hint="Generate one with `mmviz demo-corpus --features-only`.")
    df = pd.read_csv(table)
    for col in ("clip_id", "label"):
        if col not in df.columns:
            raise DatasetError(f"{table.name} has no {col!r} column (it has {list(df.columns)[:8]}).")
    out = []
    for _, row in df.iterrows():
        cid = str(row["clip_id"])
        rec = load_record(_find_record(d, cid, row))
        if not isinstance(rec, ClipFeatures):
            raise DatasetError(f"The record for {cid!r} is a {type(rec).__name__}, not ClipFeatures.")
        split = str(row["split"]) if "split" in df.columns and isinstance(row["split"], str) else stable_split(cid)
        split = {"dev": "valid", "val": "valid", "validation": "valid"}.get(split, split)
        meta = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        out.append(LabelledClip(rec, float(row["label"]), split, meta))
    return out


def load_mmsa_pickle(path: str | Path, step: float = 0.1) -> list[LabelledClip]:
    """Read an MMSA feature pickle safely and convert each segment to ClipFeatures."""
    from mmviz.data.safe_pickle import safe_load_pickle

    data = safe_load_pickle(path)
    if not isinstance(data, dict) or not any(s in data for s in ("train", "valid", "test")):
        raise DatasetError(f"{Path(path).name} is not an MMSA feature pickle (no train/valid/test keys).")
    out = []
    for split in SPLITS:
        part = data.get(split)
        if part is None:
            continue
        audio, vision, labels, texts, ids = _mmsa_split(Path(path).name, split, part)
        an = tuple(f"mmsa_audio_{j}" for j in range(audio.shape[-1]))
        vn = tuple(f"mmsa_visual_{j}" for j in range(vision.shape[-1]))
        for i in range(len(labels)):
            ta = np.arange(audio.shape[1]) * step + step / 2
            tv = np.arange(vision.shape[1]) * step + step / 2
            words_s = str(texts[i]).split()
            dur = max(audio.shape[1], vision.shape[1]) * step
            span = dur / max(1, len(words_s))
            words = tuple(Word(w, k * span, (k + 1) * span, estimated=True) for k, w in enumerate(words_s))
            cid = str(ids[i])
            h = hashlib.sha256(audio[i].tobytes() + vision[i].tobytes() + str(texts[i]).encode()).hexdigest()
            media = MediaInfo(cid, "mmsa", None, dur, True, True)
            feats = ClipFeatures(
                cid, h, TimedMatrix(audio[i], an, ta, step), TimedMatrix(vision[i], vn, tv, step), words,
                "typed", media, {"source": "mmsa", "nominal_step": step},
            )
            out.append(LabelledClip(feats, float(labels[i]), split, {"clip_id": cid}))
    return out


def _mmsa_array(name: str, split: str, part: dict, key: str, ndim: int, shape_words: str) -> np.ndarray:
    try:
        arr = np.asarray(part[key], np.float32)
    except KeyError:
        raise DatasetError(f"{name}: split {split!r} has no {key!r} array (it has {sorted(map(str, part))[:8]}).",
                           hint="MMSA feature pickles hold 'audio', 'vision', 'raw_text', 'regression_labels' and 'id' per split.") from None
    except (TypeError, ValueError) as e:
        raise DatasetError(f"{name}: {key!r} in split {split!r} is not a numeric array ({e}).") from e
    if arr.ndim != ndim:
        raise DatasetError(f"{name}: {key!r} in split {split!r} has shape {arr.shape}; MMSA features are {shape_words}.")
    return arr


def _mmsa_split(name: str, split: str, part: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """Check one MMSA split's arrays before use: (audio, vision, labels, texts, ids), N clips each.

    Why: a malformed file otherwise fails deep in the conversion with a KeyError or IndexError
    that names nothing the user can fix.
    """
    if not isinstance(part, dict):
        raise DatasetError(f"{name}: split {split!r} is a {type(part).__name__}, not a dict of arrays.")
    audio = _mmsa_array(name, split, part, "audio", 3, "(clips, steps, features)")
    vision = _mmsa_array(name, split, part, "vision", 3, "(clips, steps, features)")
    key = "labels" if "labels" in part and "regression_labels" not in part else "regression_labels"
    raw = part.get(key)
    if raw is not None and np.ndim(raw) == 2 and np.shape(raw)[1] == 1:  # (N, 1) label columns are common
        part = {**part, key: np.asarray(raw).reshape(-1)}
    labels = _mmsa_array(name, split, part, key, 1, "one label per clip")
    n = len(labels)
    if audio.shape[0] != n or vision.shape[0] != n:
        raise DatasetError(f"{name}: split {split!r} has {n} labels but {audio.shape[0]} audio and "
                           f"{vision.shape[0]} vision clips; each array needs one row per clip.")
    columns = []
    for key_, default in (("raw_text", [""] * n), ("id", [f"{split}_{i}" for i in range(n)])):
        try:
            values = list(part.get(key_, default))
        except TypeError:
            raise DatasetError(f"{name}: {key_!r} in split {split!r} is a {type(part[key_]).__name__}, not a list.") from None
        if len(values) != n:
            raise DatasetError(f"{name}: {key_!r} in split {split!r} has {len(values)} entries for {n} clips.")
        columns.append(values)
    texts, ids = columns
    return audio, vision, labels, texts, ids


def load_dataset(path: str | Path) -> list[LabelledClip]:
    """A features folder or an MMSA ``.pkl``."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"Dataset {p} does not exist.")
    if p.is_file() and p.suffix in (".pkl", ".pickle"):
        return load_mmsa_pickle(p)
    if p.is_dir():
        return load_features_dir(p)
    raise DatasetError(f"{p.name} is neither a features folder nor an MMSA .pkl file.")


def feature_stats(clips: list[LabelledClip], which: str, names: tuple[str, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-feature mean and std over all training steps (NaN ignored) — stored in the checkpoint."""
    rows = []
    for c in clips:
        m = getattr(c.features, which)
        if m is not None:
            idx = [m.names.index(n) for n in names]
            rows.append(m.values[:, idx])
    if not rows:
        return tuple([0.0] * len(names)), tuple([1.0] * len(names))
    allv = np.concatenate(rows).astype(np.float64)
    with np.errstate(all="ignore"):
        mean = np.nan_to_num(np.nanmean(allv, axis=0))
        std = np.nan_to_num(np.nanstd(allv, axis=0), nan=1.0)
    std[std < 1e-6] = 1.0
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
