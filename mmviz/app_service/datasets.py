"""Datasets for the explorer and error analysis: scored once, persisted, mapped with t-SNE.

The demo set is ``mmviz/demo/clips`` (metadata.csv gives labels and the planted decisive
modality / span / conflict); users can also name a folder of clips on the server. Scoring goes
through the results store (features and inspections by content hash), and each dataset keeps
one fitted openTSNE map per embedding space so a new clip is *placed* on it (no refit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import SPACES, EmbeddingMaps, fit_map, load_map, save_map
from mmviz.records.features import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.inference.runner import ModelRunner
from mmviz.data.table import check_table
from mmviz.records.keys import short_hash

MAP_SEED = 0


@dataclass(frozen=True)
class DatasetView:
    """A scored dataset.

    table: one row per clip (predictions, label, slices; ``x_<space>``/``y_<space>`` map
        positions for each mapped space, NaN when that space has no map).
    embeddings: {space: (n, d)} pooled embeddings in table row order.
    maps: the fitted t-SNE maps (None for fewer than 5 clips).
    root: the view's folder in the results store (its verdicts and the analyst's slices live there).
    """

    name: str
    table: pd.DataFrame
    embeddings: dict
    maps: EmbeddingMaps | None
    checkpoint_hash: str
    source: str
    root: Path | None = None
    _placed: dict = field(default_factory=dict, compare=False, repr=False)
    _memo: dict = field(default_factory=dict, compare=False, repr=False)  # derived summaries (alignment)

    @cached_property
    def metrics(self) -> dict:
        """MMSA metrics of the fused head on the labelled rows (computed once per view, not per page rerun)."""
        from mmviz.data.metrics import mmsa_metrics

        lab = pd.to_numeric(self.table["label"], errors="coerce")
        ok = lab.notna()
        return mmsa_metrics(self.table.loc[ok, "pred_fused"].to_numpy(float), lab[ok].to_numpy(float)) if ok.sum() else {}

    @property
    def spaces(self) -> tuple[str, ...]:
        return tuple(self.maps.maps) if self.maps is not None else ()

    def place(self, ins: Inspection, space: str = "fused") -> tuple[float, float] | None:
        """Where a clip's embedding lands on this dataset's map (openTSNE transform, no refit)."""
        if self.maps is None or space not in self.maps.maps:
            return None
        key = (ins.content_hash, ins.checkpoint_hash, ins.created, space)
        if key not in self._placed:  # one openTSNE transform per clip and space, not one per page rerun
            xy = self.maps[space].place(np.asarray(ins.embeddings[space], dtype=np.float64)[None])[0]
            self._placed[key] = (float(xy[0]), float(xy[1]))
        return self._placed[key]


def demo_available() -> bool:
    from mmviz.demo import default_demo_dir

    return (default_demo_dir() / "metadata.csv").exists()


def score_dataset(svc: AppService, source: str = "demo", labels_csv: Path | None = None, runner: ModelRunner | None = None,
                  progress=None) -> DatasetView:
    """Score a folder of clips once (cached on disk per checkpoint) and map it."""
    r = runner or svc.runner
    found = cached_dataset(svc, source, labels_csv, r)
    if found is not None:
        return found
    folder = _resolve_folder(source)
    table, inspections = _score_folder(svc, r, folder, labels_csv, progress)
    return _finish(svc, r, source, table, inspections, _root(svc, source, labels_csv, r))


def score_clips(svc: AppService, name: str, clips: Sequence[ClipFeatures], labels: Sequence[float | None] | None = None,
                runner: ModelRunner | None = None) -> DatasetView:
    """Score already-extracted clips as a dataset (the library path; the app scores folders)."""
    from mmviz.data.scoring import score_features

    r = runner or svc.runner
    found = cached_dataset(svc, name, None, r)
    if found is not None:
        return found
    for c in clips:  # in-memory clips have no file: keep their features so rows can be reopened
        svc.store.put_features(c, "given")
    inspections = score_features(list(clips), r, svc.store)
    labels = list(labels) if labels is not None else [None] * len(clips)
    rows = [{"clip_id": c.clip_id, "path": "", "content_hash": c.content_hash, "label": np.nan if lab is None else lab,
             "duration": c.duration, "transcript_source": c.transcript_source, "transcript": c.transcript,
             "face_present": _face_share(c)} | _prediction_row(i) for c, i, lab in zip(clips, inspections, labels)]
    return _finish(svc, r, name, pd.DataFrame(rows), inspections, _root(svc, name, None, r))


def _finish(svc: AppService, r: ModelRunner, name: str, table: pd.DataFrame, inspections: list[Inspection], root: Path) -> DatasetView:
    table = add_slices(check_table(table).reset_index(drop=True))
    emb = {s: np.stack([np.asarray(i.embeddings[s], dtype=np.float32) for i in inspections]) if inspections else np.zeros((0, 1))
           for s in SPACES}
    maps = fit_dataset_maps(emb, tuple(table["clip_id"].astype(str)))
    for s in SPACES:
        ok = maps is not None and s in maps.maps
        table[f"x_{s}"] = maps[s].xy[:, 0] if ok else np.nan
        table[f"y_{s}"] = maps[s].xy[:, 1] if ok else np.nan
    _write_view(root, table, emb, maps)
    return DatasetView(name, table, emb, maps, r.checkpoint_hash, name, root)


def _write_view(root: Path, table: pd.DataFrame, emb: dict, maps: EmbeddingMaps | None) -> None:
    """Write a dataset view into a private folder, then rename it into place: two users scoring the same
    dataset at once never see each other's half-written files (the first one to finish wins)."""
    import shutil
    import uuid

    tmp = root.parent / f".{root.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir(parents=True)
    table.to_csv(tmp / "table.csv", index=False)
    np.savez(tmp / "embeddings.npz", **emb)
    if maps is not None:
        save_map(maps, tmp / "maps")
    try:
        tmp.rename(root)
    except OSError:  # already there (another user finished first): keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def fit_dataset_maps(emb: dict, ids: tuple[str, ...], seed: int = MAP_SEED) -> EmbeddingMaps | None:
    """One t-SNE map per embedding space; a space that cannot be mapped (e.g. no clip has video) is left out."""
    if len(ids) < 5:
        return None
    unique = tuple(dict.fromkeys(ids))
    ids = ids if len(unique) == len(ids) else tuple(f"{c}#{i}" for i, c in enumerate(ids))
    maps = {}
    for s in SPACES:
        try:
            maps[s] = fit_map(emb[s], ids, space=s, seed=seed)
        except MmvizError:
            continue
    return EmbeddingMaps(maps=maps, ids=ids, seed=seed, settings={"spaces": tuple(maps)}) if maps else None


def _root(svc: AppService, source: str, labels_csv, r: ModelRunner) -> Path:
    return svc.store.dataset_dir(f"{short_hash(source, str(labels_csv), n=10)}-{r.checkpoint_hash}")


def cached_dataset(svc: AppService, source: str = "demo", labels_csv: Path | None = None,
                   runner: ModelRunner | None = None) -> DatasetView | None:
    """The dataset if it was already scored with this checkpoint (disk), else None."""
    r = runner or svc.runner
    root = _root(svc, source, labels_csv, r)
    if not (root / "table.csv").exists() and source == "demo" and labels_csv is None:
        from mmviz.app_service.demo_view import install_shipped_view

        install_shipped_view(r.checkpoint_hash, root)  # the view shipped with the default model, if it is this one's
    if not (root / "table.csv").exists() or not (root / "embeddings.npz").exists():
        return None
    with np.load(root / "embeddings.npz") as z:
        emb = {k: z[k] for k in z.files}
    maps = load_map(root / "maps.json") if (root / "maps.json").exists() else None
    return DatasetView(source, pd.read_csv(root / "table.csv", keep_default_na=True), emb, maps, r.checkpoint_hash, source, root)


def _resolve_folder(source: str) -> Path:
    if source == "demo":
        from mmviz.demo import default_demo_dir

        return default_demo_dir()
    p = Path(source).expanduser()
    if not p.is_dir():
        raise MmvizError(f"{source} is not a folder on the server.", hint="Type the path of a folder that holds your clips.")
    return p


def _score_folder(svc: AppService, r: ModelRunner, folder: Path, labels_csv: Path | None, progress) -> tuple[pd.DataFrame, list[Inspection]]:
    from mmviz.data.scoring import score_folder

    meta = None
    if labels_csv is not None:
        meta = pd.read_csv(labels_csv)
    elif (folder / "metadata.csv").exists():
        meta = pd.read_csv(folder / "metadata.csv")
    if meta is not None and "clip_id" not in meta.columns and "file" in meta.columns:
        meta["clip_id"] = meta["file"].map(lambda s: Path(str(s)).stem)
    table = score_folder(folder, r, svc.store, labels=meta, progress=progress)
    if "error" in table.columns:
        table = table.rename(columns={"error": "error_msg"})
    table["error_msg"] = table.get("error_msg", "").fillna("") if "error_msg" in table else ""
    ok = table[table["error_msg"] == ""].reset_index(drop=True)
    if ok.empty:
        first = table["error_msg"].iloc[0] if len(table) else ""
        raise MmvizError(f"None of the {len(table)} clips in {folder} could be read. First problem: {first}")
    inspections = [svc.store.get_inspection(r.checkpoint_hash, dataset_features(svc, row)) for _, row in ok.iterrows()]
    ok["source"] = ok["path"]
    if "label" not in ok:
        ok["label"] = np.nan
    return ok, inspections


def add_slices(t: pd.DataFrame) -> pd.DataFrame:
    """Derived columns every page slices by (see :mod:`mmviz.data.table` for where each comes from).

    The demo generator's planted answers become ``planted_*`` (ground truth); rules over the
    unimodal heads are named as rules (``loudest_head``, ``heads_disagree``) — neither is the
    model's explanation of a clip.
    """
    t = t.copy()
    t["pred_class"] = np.where(t["pred_fused"] >= 0, "positive", "negative")
    lab = pd.to_numeric(t["label"], errors="coerce")
    t["label_class"] = np.where(lab.isna(), "unlabelled", np.where(lab >= 0, "positive", "negative"))
    t["abs_error"] = (t["pred_fused"] - lab).abs()
    t["correct"] = np.where(lab.isna(), np.nan, (t["pred_fused"] >= 0) == (lab >= 0))
    heads = t[["pred_text", "pred_audio", "pred_visual"]].to_numpy()
    t["loudest_head"] = np.array(["text", "audio", "visual"])[np.abs(heads).argmax(1)]
    sal = np.abs(heads) >= 0.5
    t["heads_disagree"] = (sal & (heads > 0)).any(1) & (sal & (heads < 0)).any(1)
    if "decisive_modality" in t:
        t["planted_modality"] = t["decisive_modality"].fillna("").astype(str).replace({"nan": ""})
    if "conflict" in t and t["conflict"].notna().any():
        t["planted_conflict"] = t["conflict"].map(lambda v: str(v).lower() in ("true", "1", "1.0"))
    t["length"] = pd.cut(t["duration"], [0, 4, 6, 1e9], labels=["< 4 s", "4–6 s", "> 6 s"]).astype(str)
    t["face"] = np.where(pd.to_numeric(t.get("face_present"), errors="coerce").fillna(0) > 0.5, "face", "no face")
    return t


def dataset_features(svc: AppService, row: pd.Series) -> ClipFeatures:
    """The features of a table row: from the store (as `mmviz score` wrote them), else extracted again."""
    from mmviz.data.scoring import features_for

    path = str(row.get("path") or "")
    if path and path != "nan":
        return features_for(Path(path), svc.store)
    feats = svc.store.find_features(str(row["content_hash"]))
    if feats is None:
        raise MmvizError(f"The features of {row.get('clip_id')} are no longer in the results store.", hint="Score the dataset again.")
    return feats


def robustness(svc: AppService, ds: DatasetView, fractions=(0.0, 0.25, 0.5, 0.75, 1.0), seed: int = 0,
               runner: ModelRunner | None = None, progress=None) -> pd.DataFrame:
    """Acc-2 when a growing share of one modality is removed (steps set to NaN, words dropped)."""
    r = runner or svc.runner
    t = ds.table
    lab = pd.to_numeric(t["label"], errors="coerce").to_numpy()
    feats = [dataset_features(svc, row) for _, row in t.iterrows()]
    rng = np.random.default_rng(seed)
    rows = []
    total = len(fractions) * 3
    for j, (m, frac) in enumerate([(m, f) for m in ("text", "audio", "visual") for f in fractions]):
        changed = [_remove_share(f, m, frac, rng) for f in feats]
        with r.lock:
            preds = np.array([i.predictions.fused for i in r.inspect(changed)])
        ok = ~np.isnan(lab)
        acc = float(((preds[ok] >= 0) == (lab[ok] >= 0)).mean()) if ok.any() else np.nan
        rows.append({"modality": m, "removed": frac, "acc2": acc, "mae": float(np.abs(preds[ok] - lab[ok]).mean()) if ok.any() else np.nan})
        if progress:
            progress(f"{m} {frac:.0%}", (j + 1) / total)
    return pd.DataFrame(rows)


def _remove_share(f: ClipFeatures, m: str, frac: float, rng) -> ClipFeatures:
    if frac <= 0:
        return f
    if m == "text":
        keep = [w for w in f.words if rng.random() >= frac]
        return dataclasses.replace(f, words=tuple(keep))
    tm = getattr(f, m)
    if tm is None:
        return f
    if frac >= 1:
        return dataclasses.replace(f, **{m: None})
    v = tm.values.copy()
    v[rng.random(len(v)) < frac] = np.nan
    return dataclasses.replace(f, **{m: dataclasses.replace(tm, values=v)})


def demo_rows() -> pd.DataFrame:
    """The demo clips as rows (clip_id, path, label, decisive span) without scoring them."""
    from mmviz.demo import default_demo_dir

    d = default_demo_dir()
    if not demo_available():
        raise MmvizError(f"The demo clips are missing from {d}.", hint="Reinstall mmviz or regenerate them with `mmviz demo-corpus`.")
    meta = pd.read_csv(d / "metadata.csv")
    meta["path"] = meta["file"].map(lambda f: str(d / str(f)))
    meta["source"] = meta["path"]
    return meta


def _face_share(f: ClipFeatures) -> float | None:
    if f.visual is None or "face_present" not in f.visual.names:
        return None
    return float(np.nanmean(f.visual.column("face_present"))) if f.visual.n_steps else None


def _prediction_row(ins: Inspection) -> dict:
    p = ins.predictions
    return {"checkpoint_hash": ins.checkpoint_hash, "pred_fused": p.fused, "pred_text": p.text, "pred_audio": p.audio,
            "pred_visual": p.visual}


UPLOADS = "Labelled uploads"


def uploads_dataset(svc: AppService, runner: ModelRunner | None = None) -> DatasetView:
    """The clips users analysed with a label (Clip review's label field), scored as one dataset.

    Why: real clips reach the Dataset explorer and Error analysis without a folder and a CSV on
    the server. The view is keyed by the list itself, so a newly labelled upload gives a new view.
    """
    items = svc.labelled_uploads()
    if not items:
        raise MmvizError("No labelled uploads yet.",
                         hint="In Clip review, type a label (-3 … +3) before you analyse an upload; it is then listed here.")
    tag = short_hash(*(f"{f.content_hash}-{f.transcript}-{lab}" for f, lab, _ in items), n=8)
    return score_clips(svc, f"{UPLOADS} ({len(items)} clips, {tag})", [f for f, _, _ in items], [lab for _, lab, _ in items],
                       runner=runner)
