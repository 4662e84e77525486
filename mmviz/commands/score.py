"""``mmviz score``: score a folder of clips once into the results store."""

from __future__ import annotations

import argparse

HELP = "Score every clip in a folder (features + model inspection), persisted in the results store."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="folder of clips (mp4, mov, webm, mkv, avi, wav, mp3, ...); sidecar .txt/.srt/.vtt used")
    p.add_argument("--labels", default=None, help="CSV with clip_id,label (default: FOLDER/metadata.csv if present)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--store", default=None, help="results store folder (default: the one the dashboard uses, <cache>/results)")
    p.add_argument("--out", default=None, help="also write the per-clip table to this CSV")
    p.add_argument("--engine", default="local", choices=["local", "ray"], help="ray: Ray Data across a cluster")
    p.add_argument("--explain", action="store_true",
                   help="also explain every clip (default settings) into the store, so the dashboard opens each one instantly")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from mmviz.data.metrics import mmsa_metrics
    from mmviz.data.scoring import score_folder
    from mmviz.data.store import ResultsStore
    from mmviz.errors import DatasetError
    from mmviz.inference.runner import ModelRunner
    from mmviz.progress import terminal_bar

    labels_path = Path(args.labels) if args.labels else Path(args.folder) / "metadata.csv"
    labels = None
    if labels_path.exists():
        labels = pd.read_csv(labels_path)
    elif args.labels:
        raise DatasetError(f"Labels file {labels_path} does not exist.")
    store = ResultsStore(args.store)
    if args.engine == "ray":
        from mmviz.scale.ray_score import score_folder_ray

        table = score_folder_ray(args.folder, args.checkpoint, store.root)
    else:
        runner = ModelRunner.from_checkpoint(args.checkpoint)
        progress, close = terminal_bar("scoring")
        table = score_folder(args.folder, runner, store, labels=labels, progress=progress, explain=args.explain)
        close()
    ok = table[table["error"].fillna("") == ""] if "error" in table else table
    print(f"scored {len(ok)} of {len(table)} clips; store: {store.root}")
    for _, r in table[table["error"].fillna("") != ""].iterrows():
        print(f"  skipped {Path(r['path']).name}: {r['error']}")
    if "label" in ok.columns and len(ok) > 1:
        m = mmsa_metrics(ok["pred_fused"], ok["label"])
        print("fused head: " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"table written to {args.out}")
    return 0
