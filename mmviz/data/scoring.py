"""Score a folder of clips once: features and inspections go to the results store.

Used by ``mmviz score`` and by the dashboard's dataset explorer. Each clip is looked up by
content hash first, so re-running (or a second user opening the same folder) costs nothing
for clips already done; a clip that fails to decode is reported in the table's ``error``
column and the rest go on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError
from mmviz.records.features import ClipFeatures
from mmviz.inference.memory import release_freed_memory
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner
from mmviz.progress import Progress, report
from mmviz.records.keys import sha256_file, transcript_input_key

MEDIA_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".wav", ".mp3", ".m4a", ".flac", ".ogg"}


def list_clips(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise MmvizError(f"{d} is not a folder.", hint="Name a folder that holds your clips.")
    clips = sorted(p for p in d.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file())
    if not clips:
        raise MmvizError(f"No clips in {d} (looked for {', '.join(sorted(MEDIA_SUFFIXES))}).")
    return clips


def sidecar_of(path: Path) -> Path | None:
    """The transcript file beside a clip (``clip.txt`` / ``.srt`` / ``.vtt``), if any."""
    return next((path.with_suffix(s) for s in (".txt", ".srt", ".vtt") if path.with_suffix(s).exists()), None)


def features_for(path: Path, store: ResultsStore, transcript: str | None = None, *, sidecar: Path | None = None,
                 asr: bool = False, filename: str | None = None, progress=None, discover_sidecar: bool = True) -> ClipFeatures:
    """Features of one clip, from the store when already extracted with the same transcript input.

    The one lookup the app, ``mmviz score`` and ``mmviz explain`` share: without a typed
    transcript or an explicit sidecar, the sidecar beside the clip is used (as extraction does).
    """
    from mmviz.features.extract import extract_features

    if discover_sidecar and not (transcript and transcript.strip()) and sidecar is None:
        sidecar = sidecar_of(path)
    key = transcript_input_key(transcript, sidecar, asr)
    h = sha256_file(path)
    cached = store.get_features(h, key)
    if cached is not None:
        # the same bytes under another name (an upload of a scored file): show the name the user gave
        return cached if filename is None or cached.clip_id == filename else dataclasses.replace(cached, clip_id=filename)
    feats = extract_features(path, transcript=transcript or None, sidecar=sidecar, asr=asr, filename=filename, progress=progress)
    store.put_features(feats, key)
    return feats


def score_folder(
    folder: str | Path,
    runner: ModelRunner,
    store: ResultsStore,
    *,
    labels: pd.DataFrame | None = None,
    batch_size: int = 8,
    progress: Progress | None = None,
    explain: bool = False,
) -> pd.DataFrame:
    """One row per clip with predictions (and label/error); records persisted in ``store``.

    explain: also compute each clip's Explanation (default settings) into the store, so the
    dashboard opens every clip instantly.
    """
    paths = list_clips(folder)
    lab = labels_by_clip(labels)
    rows: list[dict] = []
    pending: list[tuple[ClipFeatures, dict]] = []

    def flush() -> None:
        inspections = score_features([f for f, _ in pending], runner, store, batch_size=batch_size)
        for (f, r), ins in zip(pending, inspections):
            rows.append(r | prediction_row(ins))
            if explain:
                explanation_for(f, runner, store, inspection=ins)
        pending.clear()

    for i, path in enumerate(paths):
        report(progress, path.name, i / len(paths))
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
    report(progress, "done", 1.0)
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
    row = {"checkpoint_hash": ins.checkpoint_hash, "pred_fused": p.fused, "pred_text": p.text, "pred_audio": p.audio,
           "pred_visual": p.visual}
    # only for checkpoints with distance statistics (models/distance.py); a branch the clip lacks stays empty
    row |= {f"distance_{b}": d for b, d in getattr(ins, "distance", {}).items()}
    return row


def score_features(clips: Sequence[ClipFeatures], runner: ModelRunner, store: ResultsStore, batch_size: int = 8) -> list[Inspection]:
    """Inspections for already-extracted features, reusing the store."""
    out: list[Inspection | None] = [store.get_inspection(runner.checkpoint_hash, c) for c in clips]
    todo = [i for i, o in enumerate(out) if o is None]
    if todo:
        with runner.lock:
            fresh = runner.inspect([clips[i] for i in todo], batch_size=batch_size)
        for j, ins in zip(todo, fresh):
            store.put_inspection(ins, clips[j])
            out[j] = ins
    return out  # type: ignore[return-value]


def explanation_for(feats: ClipFeatures, runner: ModelRunner, store: ResultsStore, *, inspection: Inspection | None = None,
                    settings=None, other: ClipFeatures | None = None, progress=None):
    """The clip's Explanation from the store, else computed (under the runner's lock) and stored.

    Explanations made against another clip (``other``: swap counterfactuals, "clip" baseline)
    depend on that clip too, so they are computed but not stored.
    """
    from mmviz.explain import ExplainSettings, explain_clip

    settings = settings or ExplainSettings()
    if other is None and (found := store.get_explanation(runner.checkpoint_hash, feats, settings)) is not None:
        return found
    with runner.lock:
        expl = explain_clip(runner, feats, settings, inspection=inspection, other=other, progress=progress)
        release_freed_memory()  # the passes' ~GB of freed activations, else kept per thread (see mmviz.inference.memory)
    if other is None:
        store.put_explanation(expl, feats, settings)
    return expl
