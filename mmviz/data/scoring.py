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


def features_for(path: Path, store: ResultsStore, transcript: str | None = None) -> ClipFeatures:
    """Features of one clip, from the store when already extracted."""
    from mmviz.features.extract import extract_features

    sidecar = next((path.with_suffix(s) for s in (".txt", ".srt", ".vtt") if path.with_suffix(s).exists()), None)
    key = f"tx{hashlib.sha256((transcript or '').encode()).hexdigest()[:8]}" if transcript else ("sidecar" if sidecar else "default")
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
    lab = {}
    if labels is not None:
        key = "clip_id" if "clip_id" in labels.columns else labels.columns[0]
        lab = {str(r[key]): r for _, r in labels.iterrows()}
    rows: list[dict] = []
    pending: list[tuple[ClipFeatures, dict]] = []

    def flush() -> None:
        todo = [(f, r) for f, r in pending if store.get_inspection(runner.checkpoint_hash, f.content_hash) is None]
        if todo:
            for ins in runner.inspect([f for f, _ in todo], batch_size=batch_size):
                store.put_inspection(ins)
        for f, r in pending:
            ins = store.get_inspection(runner.checkpoint_hash, f.content_hash)
            rows.append(r | _prediction_row(ins))
        pending.clear()

    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        row: dict = {"clip_id": path.stem, "path": str(path), "error": ""}
        meta = lab.get(path.stem)
        if meta is not None:
            row |= {k: v for k, v in meta.items() if k not in row}
        try:
            feats = features_for(path, store)
        except MmvizError as e:
            rows.append(row | {"error": str(e)})
            continue
        row |= {"content_hash": feats.content_hash, "duration": feats.duration, "transcript_source": feats.transcript_source,
                "face_present": _face_share(feats)}
        pending.append((feats, row))
        if len(pending) >= batch_size:
            flush()
    flush()
    if progress:
        progress(len(paths), len(paths), "done")
    table = pd.DataFrame(rows)
    store.put_dataset(f"{Path(folder).resolve().name}-{runner.checkpoint_hash}", table)
    return table


def _face_share(f: ClipFeatures) -> float | None:
    if f.visual is None or "face_present" not in f.visual.names:
        return None
    return float(f.visual.column("face_present").mean())


def _prediction_row(ins: Inspection) -> dict:
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
