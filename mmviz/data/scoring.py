"""Score a folder of clips once: features and inspections go to the results store.

Used by ``mmviz score`` and by the dashboard's dataset explorer. Each clip is looked up by
content hash first, so re-running (or a second user opening the same folder) costs nothing
for clips already done; a clip that fails to decode is reported in the table's ``error``
column and the rest go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError
from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner

MEDIA_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".wav", ".mp3", ".m4a", ".flac", ".ogg"}


def list_clips(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise MmvizError(f"{d} is not a folder.", hint="Name a folder that holds your clips.")
    clips = sorted(p for p in d.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file())
    if not clips:
        raise MmvizError(f"No clips in {d} (looked for {', '.join(sorted(MEDIA_SUFFIXES))}).")
    return clips


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path | None:
    return next((path.with_suffix(s) for s in (".txt", ".srt", ".vtt") if path.with_suffix(s).exists()), None)


def features_key(path: Path, transcript: str | None = None) -> str:
    """The store key of a clip's features: which transcript they were made with."""
    if transcript:
        return f"tx{hashlib.sha256(transcript.encode()).hexdigest()[:8]}"
    return "sidecar" if _sidecar(path) else "default"


def features_for(path: Path, store: ResultsStore, transcript: str | None = None) -> ClipFeatures:
    """Features of one clip, from the store when already extracted."""
    from mmviz.features.extract import extract_features

    sidecar = _sidecar(path)
    key = features_key(path, transcript)
    h = file_sha256(path)
    cached = store.get_features(h, key)
    if cached is not None:
        return cached
    feats = extract_features(path, transcript=transcript, sidecar=sidecar)
    store.put_features(feats, key)
    return feats


def score_folder(
    folder: str | Path,
    runner: ModelRunner,
    store: ResultsStore,
    *,
    labels: pd.DataFrame | None = None,
    batch_size: int = 8,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """One row per clip with predictions (and label/error); records persisted in ``store``."""
    paths = list_clips(folder)
    lab = labels_by_clip(labels)
    rows: list[dict] = []
    pending: list[tuple[ClipFeatures, dict]] = []

    def flush() -> None:
        todo = [(f, r) for f, r in pending if store.get_inspection(runner.checkpoint_hash, f.content_hash) is None]
        if todo:
            for ins in runner.inspect([f for f, _ in todo], batch_size=batch_size):
                store.put_inspection(ins)
        for f, r in pending:
            ins = store.get_inspection(runner.checkpoint_hash, f.content_hash)
            rows.append(r | prediction_row(ins))
        pending.clear()

    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        row = clip_row(path, lab)
        try:
            feats = features_for(path, store)
        except MmvizError as e:
            rows.append(row | {"error": str(e)})
            continue
        row |= feature_columns(feats)
        pending.append((feats, row))
        if len(pending) >= batch_size:
            flush()
    flush()
    if progress:
        progress(len(paths), len(paths), "done")
    table = pd.DataFrame(rows)
    store.put_dataset(dataset_name(folder, runner.checkpoint_hash), table)
    return table


def dataset_name(folder: str | Path, checkpoint_hash: str) -> str:
    """The store's name for a scored folder's table (the same for every engine)."""
    return f"{Path(folder).resolve().name}-{checkpoint_hash}"


def labels_by_clip(labels: pd.DataFrame | None) -> dict:
    """Label rows keyed by clip id (column ``clip_id``, else the first column)."""
    if labels is None:
        return {}
    key = "clip_id" if "clip_id" in labels.columns else labels.columns[0]
    return {str(r[key]): r for _, r in labels.iterrows()}


def clip_row(path: Path, labels: dict) -> dict:
    """The start of a clip's table row: id, path, no error yet, and its label columns."""
    row: dict = {"clip_id": path.stem, "path": str(path), "error": ""}
    meta = labels.get(path.stem)
    if meta is not None:
        row |= {k: v for k, v in meta.items() if k not in row}
    return row


def feature_columns(f: ClipFeatures) -> dict:
    """The table columns read from a clip's features."""
    return {"content_hash": f.content_hash, "duration": f.duration, "transcript_source": f.transcript_source,
            "face_present": _face_share(f)}


def _face_share(f: ClipFeatures) -> float | None:
    if f.visual is None or "face_present" not in f.visual.names:
        return None
    return float(f.visual.column("face_present").mean())


def prediction_row(ins: Inspection) -> dict:
    """The table columns read from a clip's inspection."""
    p = ins.predictions
    return {"checkpoint_hash": ins.checkpoint_hash, "pred_fused": p.fused, "pred_text": p.text, "pred_audio": p.audio, "pred_visual": p.visual}


def score_features(clips: Sequence[ClipFeatures], runner: ModelRunner, store: ResultsStore, batch_size: int = 8) -> list[Inspection]:
    """Inspections for already-extracted features, reusing the store."""
    out: list[Inspection | None] = [store.get_inspection(runner.checkpoint_hash, c.content_hash) for c in clips]
    todo = [i for i, o in enumerate(out) if o is None]
    for j, ins in zip(todo, runner.inspect([clips[i] for i in todo], batch_size=batch_size)):
        store.put_inspection(ins)
        out[j] = ins
    return out  # type: ignore[return-value]
