"""Datasets for the explorer and error analysis: scored once, persisted, with a 2-D map.

The demo set is ``mmviz/demo/clips`` (metadata.csv gives labels and the planted decisive
modality / span / conflict). Until those clips and the feature extractor exist, a synthetic set
from ``mmviz.testing.tiny.synthetic_clip`` stands in, so every page has data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.app_service import backend
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.features.record import ClipFeatures
from mmviz.inference.runner import ModelRunner

SYNTH_TEXTS = (
    ("this movie was really good", 2.0), ("i loved every minute of it", 3.0), ("the plot was fine i guess", 0.0),
    ("it was a boring waste of time", -2.0), ("the acting was terrible", -3.0), ("nice music but weak story", -0.5),
    ("an absolute masterpiece", 3.0), ("not great not awful", 0.0), ("i hated the ending", -2.0), ("pretty decent overall", 1.0),
)
MAP_SEED = 0


@dataclass(frozen=True)
class DatasetView:
    """A scored dataset: one row per clip (predictions, label, slices, map x/y) + fused embeddings (n, D)."""

    name: str
    table: pd.DataFrame
    embeddings: np.ndarray
    checkpoint_hash: str
    source: str  # "demo" | "synthetic" | folder path


def synthetic_features(i: int, runner: ModelRunner | None = None) -> ClipFeatures:
    """Synthetic stand-in clip ``i`` with the feature names the runner's model reads."""
    from mmviz.testing.tiny import synthetic_clip

    text, _ = SYNTH_TEXTS[i % len(SYNTH_TEXTS)]
    names = {}
    if runner is not None and runner.cfg.audio_features:
        names = {"audio_names": tuple(runner.cfg.audio_features), "visual_names": tuple(runner.cfg.visual_features)}
    return synthetic_clip(100 + i, duration=3.0 + (i % 4), text=text, visual=(i % 7 != 3), **names)


def demo_available() -> bool:
    from mmviz.demo import default_demo_dir

    if os.environ.get("MMVIZ_APP_DEMO", "").lower() == "synthetic":  # tests: skip the real demo set
        return False
    meta = default_demo_dir() / "metadata.csv"
    return meta.exists() and backend.has_extractor()


def score_dataset(svc: AppService, source: str = "demo", labels_csv: Path | None = None, runner: ModelRunner | None = None,
                  progress=None) -> DatasetView:
    """Score a dataset once (cached on disk under the cache folder) and place it on a t-SNE map."""
    r = runner or svc.runner
    found = cached_dataset(svc, source, labels_csv, r)
    if found is not None:
        return found
    if source == "demo" and not demo_available():
        source = "synthetic"
    tpath, epath = _paths(svc, source, labels_csv, r)
    root = tpath.parent
    if source == "synthetic":
        table, emb = _score_synthetic(svc, r, progress)
    else:
        folder = _resolve_folder(source)
        table, emb = _score_folder(svc, r, folder, labels_csv, progress)
    table = add_slices(table)
    xy = tsne_map(emb)
    table["x"], table["y"] = xy[:, 0], xy[:, 1]
    root.mkdir(parents=True, exist_ok=True)
    table.to_csv(tpath, index=False)
    np.save(epath, emb)
    return DatasetView(source, table, emb, r.checkpoint_hash, source)


def _paths(svc: AppService, source: str, labels_csv, r: ModelRunner) -> tuple[Path, Path]:
    if source == "demo" and not demo_available():
        source = "synthetic"
    key = hashlib.sha256(f"{source}|{labels_csv}".encode()).hexdigest()[:10]
    root = svc.cache / "app" / "datasets"
    return root / f"{key}-{r.checkpoint_hash}.csv", root / f"{key}-{r.checkpoint_hash}.npy"


def cached_dataset(svc: AppService, source: str = "demo", labels_csv: Path | None = None,
                   runner: ModelRunner | None = None) -> DatasetView | None:
    """The dataset if it was already scored with this checkpoint (disk), else None."""
    r = runner or svc.runner
    tpath, epath = _paths(svc, source, labels_csv, r)
    if tpath.exists() and epath.exists():
        name = source if source != "demo" or demo_available() else "synthetic"
        return DatasetView(name, pd.read_csv(tpath, keep_default_na=True), np.load(epath), r.checkpoint_hash, name)
    return None


def _resolve_folder(source: str) -> Path:
    if source == "demo":
        from mmviz.demo import default_demo_dir

        return default_demo_dir()
    p = Path(source).expanduser()
    if not p.is_dir():
        raise MmvizError(f"{source} is not a folder on the server.", hint="Type the path of a folder that holds your clips.")
    return p


def _score_synthetic(svc: AppService, r: ModelRunner, progress) -> tuple[pd.DataFrame, np.ndarray]:
    rows, embs = [], []
    n = 40
    for i in range(n):
        f = synthetic_features(i, r)
        label = SYNTH_TEXTS[i % len(SYNTH_TEXTS)][1]
        ins = svc.inspection(f, runner=r, label=label)
        p = ins.predictions
        rows.append({"clip_id": f.clip_id, "source": f"synthetic:{i}", "path": "", "label": label,
                     "pred_fused": p.fused, "pred_text": p.text, "pred_audio": p.audio, "pred_visual": p.visual,
                     "duration": f.duration, "face_present": float(f.visual is not None), "transcript_source": f.transcript_source,
                     "transcript": f.transcript, "decisive_modality": "", "conflict": np.nan,
                     "decisive_span_start": np.nan, "decisive_span_end": np.nan, "error_msg": ""})
        embs.append(ins.embeddings["fused"])
        if progress:
            progress(f"{f.clip_id}", (i + 1) / n)
    return pd.DataFrame(rows), np.stack(embs)


def _score_folder(svc: AppService, r: ModelRunner, folder: Path, labels_csv: Path | None, progress) -> tuple[pd.DataFrame, np.ndarray]:
    from mmviz.data.scoring import score_folder

    meta = None
    if labels_csv is not None:
        meta = pd.read_csv(labels_csv)
    elif (folder / "metadata.csv").exists():
        meta = pd.read_csv(folder / "metadata.csv")
    if meta is not None and "clip_id" not in meta.columns and "file" in meta.columns:
        meta["clip_id"] = meta["file"].map(lambda s: Path(str(s)).stem)
    cb = (lambda i, n, name: progress(name, i / max(n, 1))) if progress else None
    table = score_folder(folder, r, svc.store, labels=meta, progress=cb)
    if "error" in table.columns:
        table = table.rename(columns={"error": "error_msg"})
    table["error_msg"] = table.get("error_msg", "").fillna("") if "error_msg" in table else ""
    ok = table[table["error_msg"] == ""].reset_index(drop=True)
    embs = []
    for h in ok["content_hash"]:
        ins = svc.store.get_inspection(r.checkpoint_hash, h)
        embs.append(ins.embeddings["fused"])
    ok["source"] = ok["path"]
    if "label" not in ok:
        ok["label"] = np.nan
    return ok, (np.stack(embs) if embs else np.zeros((0, 1)))


def add_slices(t: pd.DataFrame) -> pd.DataFrame:
    """Derived columns every page slices by: correctness, error, dominant modality, conflict, length bucket."""
    t = t.copy()
    t["pred_class"] = np.where(t["pred_fused"] >= 0, "positive", "negative")
    lab = pd.to_numeric(t["label"], errors="coerce")
    t["label_class"] = np.where(lab.isna(), "unlabelled", np.where(lab >= 0, "positive", "negative"))
    t["abs_error"] = (t["pred_fused"] - lab).abs()
    t["correct"] = np.where(lab.isna(), np.nan, (t["pred_fused"] >= 0) == (lab >= 0))
    heads = t[["pred_text", "pred_audio", "pred_visual"]].to_numpy()
    head_dom = np.array(["text", "audio", "visual"])[np.abs(heads).argmax(1)]
    dm = t["decisive_modality"].fillna("").astype(str) if "decisive_modality" in t else pd.Series([""] * len(t))
    t["dominant"] = np.where(dm != "", dm, head_dom)
    sal = np.abs(heads) >= 0.5
    head_conf = (sal & (heads > 0)).any(1) & (sal & (heads < 0)).any(1)
    if "conflict" in t and t["conflict"].notna().any():
        t["conflict"] = t["conflict"].map(lambda v: str(v).lower() in ("true", "1", "1.0"))
    else:
        t["conflict"] = head_conf
    t["length"] = pd.cut(t["duration"], [0, 4, 6, 1e9], labels=["< 4 s", "4–6 s", "> 6 s"]).astype(str)
    t["face"] = np.where(pd.to_numeric(t.get("face_present"), errors="coerce").fillna(0) > 0.5, "face", "no face")
    return t


def tsne_map(emb: np.ndarray, seed: int = MAP_SEED) -> np.ndarray:
    """2-D t-SNE of the fused embeddings (PCA for fewer than 6 clips)."""
    n = len(emb)
    if n == 0:
        return np.zeros((0, 2))
    x = emb - emb.mean(0)
    if n < 6:
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        out = np.zeros((n, 2))
        k = min(2, u.shape[1])
        out[:, :k] = u[:, :k] * s[:k]
        return out
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), random_state=seed, init="pca").fit_transform(x)


def dataset_features(svc: AppService, row: pd.Series) -> ClipFeatures:
    src = str(row.get("source", ""))
    if src.startswith("synthetic:"):
        return synthetic_features(int(src.split(":")[1]), svc.runner)
    from mmviz.data.scoring import features_for

    return features_for(Path(str(row["path"])), svc.store)  # the same store entry `mmviz score` wrote


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
    """The demo clips as rows (clip_id, source, path, label, decisive span) without scoring them."""
    if demo_available():
        from mmviz.demo import default_demo_dir

        d = default_demo_dir()
        meta = pd.read_csv(d / "metadata.csv")
        meta["path"] = meta["file"].map(lambda f: str(d / str(f)))
        meta["source"] = meta["path"]
        return meta
    return pd.DataFrame([{"clip_id": f"synthetic_{100 + i}", "source": f"synthetic:{i}", "path": "",
                          "label": SYNTH_TEXTS[i % len(SYNTH_TEXTS)][1]} for i in range(40)])
