"""The demo set's dataset view, shipped with the default model so the first Dataset-explorer visit is instant.

Why: the demo clips and the default checkpoint never change between releases, yet scoring,
mapping and explaining all 48 clips takes minutes on a busy CPU. ``mmviz demo-view`` writes the
finished view (table, embeddings, t-SNE maps, the model's Shapley verdicts: CSV / JSON / npz,
never a pickle) to ``models/default/demo_view/``; the app copies it into its results store the
first time the demo set is opened, but only when

* its ``checkpoint_hash`` is the loaded checkpoint's (weights and config), and
* its ``demo_fingerprint`` is the demo folder's (metadata.csv and every clip's size), and
* its ``features_key`` is the feature extractor's (settings and descriptor version),

so a retrained model, another demo folder or a changed extractor is scored as usual. Clip paths are stored
relative to the demo folder and made absolute on install.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.app_service.datasets import score_dataset
from mmviz.app_service.service import AppService
from mmviz.app_service.view_extras import verdicts_path, with_verdicts
from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import save_map
from mmviz.features.extract import extraction_key
from mmviz.inference.runner import DEFAULT_CHECKPOINT, ModelRunner
from mmviz.progress import Progress, scaled

META = "meta.json"


def shipped_dir() -> Path:
    """Where the view shipped with the default model lives (``models/default/demo_view``)."""
    return DEFAULT_CHECKPOINT / "demo_view"


def demo_fingerprint(folder: Path | None = None) -> str:
    """Hash of the demo folder's metadata.csv and the name and size of every clip it lists."""
    from mmviz.demo import default_demo_dir

    d = Path(folder) if folder is not None else default_demo_dir()
    meta = d / "metadata.csv"
    if not meta.exists():
        return ""
    h = hashlib.sha256(meta.read_bytes())
    for f in pd.read_csv(meta)["file"].astype(str):
        p = d / f
        h.update(f"{f}:{p.stat().st_size if p.exists() else -1}".encode())
    return h.hexdigest()[:16]


def install_shipped_view(checkpoint_hash: str, root: Path, shipped: Path | None = None) -> bool:
    """Copy the shipped view into ``root`` (the store's folder of the demo view) if it is this checkpoint's
    and this demo folder's; return whether it was installed. Never raises: a bad shipped view is ignored."""
    from mmviz.demo import default_demo_dir

    src = Path(shipped) if shipped is not None else shipped_dir()
    try:
        meta = json.loads((src / META).read_text())
        if (meta.get("checkpoint_hash") != checkpoint_hash or meta.get("demo_fingerprint") != demo_fingerprint()
                or meta.get("features_key") != extraction_key()):
            return False
        demo = default_demo_dir()
        tmp = root.parent / f".{root.name}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.mkdir(parents=True)
        for f in src.iterdir():
            if f.is_file() and f.suffix in (".csv", ".json", ".npz") and f.name != META:
                shutil.copyfile(f, tmp / f.name)
        t = pd.read_csv(tmp / "table.csv")
        for c in ("path", "source"):
            if c in t:
                t[c] = [str(demo / str(p)) for p in t[c]]
        t.to_csv(tmp / "table.csv", index=False)
        try:
            tmp.rename(root)
        except OSError:  # another user installed or scored it first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        return True
    except (OSError, ValueError, KeyError):
        return False


def export_demo_view(svc: AppService, out: Path | None = None, runner: ModelRunner | None = None,
                     progress: Progress | None = None) -> Path:
    """Score, map and explain the demo set with ``runner`` and write the view to ``out`` (replacing it)."""
    from mmviz.demo import default_demo_dir

    r = runner or svc.runner
    out = Path(out) if out is not None else shipped_dir()
    t0 = time.perf_counter()
    ds = score_dataset(svc, "demo", runner=r, progress=scaled(progress, 0.0, 0.6, "scoring "))
    ds = with_verdicts(svc, ds, runner=r, progress=scaled(progress, 0.6, 1.0))
    if ds.root is None or ds.maps is None:
        raise MmvizError("The demo set did not give a complete view (no map).", hint="Check the demo clips.")
    demo = default_demo_dir()
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir(parents=True)
    t = pd.read_csv(ds.root / "table.csv")
    for c in ("path", "source"):
        if c in t:
            t[c] = [Path(str(p)).relative_to(demo).as_posix() if str(p).startswith(str(demo)) else Path(str(p)).name for p in t[c]]
    t.to_csv(tmp / "table.csv", index=False, float_format="%.6g")
    with np.load(ds.root / "embeddings.npz") as z:
        np.savez_compressed(tmp / "embeddings.npz", **{k: z[k].astype(np.float32) for k in z.files})
    save_map(ds.maps, tmp / "maps.json")
    shutil.copyfile(verdicts_path(ds.root), tmp / verdicts_path(ds.root).name)
    meta = {"checkpoint_hash": r.checkpoint_hash, "demo_fingerprint": demo_fingerprint(demo),
            "features_key": extraction_key(), "clips": len(ds.table),
            "seconds": round(time.perf_counter() - t0, 1), "made_by": "mmviz demo-view",
            "files": sorted(p.name for p in tmp.iterdir())}
    (tmp / META).write_text(json.dumps(meta, indent=1))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
