"""``mmviz score``: score a folder of clips once into the results store."""

from __future__ import annotations

import argparse

from mmviz.commands.run_options import add_device_options, at_least_one

HELP = "Score every clip in a folder (features + model inspection), persisted in the results store."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="folder of clips (mp4, mov, webm, mkv, avi, wav, mp3, ...; sidecar .txt/.srt/.vtt used), "
                   "or a CSV of transcripts with columns id, text, label (scored as text alone: no audio, no video)")
    p.add_argument("--labels", default=None, help="CSV with clip_id,label (default: FOLDER/metadata.csv if present)")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint folder (default: the shipped default model; 'tiny' = the tiny test model)")
    p.add_argument("--store", default=None, help="results store folder (default: the one the dashboard uses, <cache>/results)")
    p.add_argument("--out", default=None, help="also write the per-clip table to this CSV")
    p.add_argument("--engine", default="local", choices=["local", "ray"], help="ray: Ray Data across a cluster")
    p.add_argument("--address", default=None,
                   help="(--engine ray) address of a running Ray cluster, e.g. HEAD_IP:6379 (default: start Ray on this machine)")
    p.add_argument("--workers", type=at_least_one, default=None,
                   help="(--engine ray) decoding tasks and model actors, N of each (one actor per GPU at most; "
                        "default: as many as the cluster holds)")
    p.add_argument("--batch-size", type=at_least_one, default=8, help="clips per model forward pass (default: 8)")
    p.add_argument("--explain", action="store_true",
                   help="also explain every clip (Shapley, IG, time/word attributions, counterfactuals) into the store, "
                        "so the dashboard opens each one instantly")
    add_device_options(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from mmviz.data.metrics import mmsa_metrics
    from mmviz.data.scoring import score_folder
    from mmviz.data.store import ResultsStore
    from mmviz.errors import DatasetError, MmvizError
    from mmviz.explain.record import ExplainSettings
    from mmviz.inference.spec import RunnerSpec
    from mmviz.progress import terminal_bar

    if Path(args.folder).suffix.lower() == ".csv" and Path(args.folder).is_file():
        return _score_transcripts(args)
    labels_path = Path(args.labels) if args.labels else Path(args.folder) / "metadata.csv"
    labels = None
    if labels_path.exists():
        labels = pd.read_csv(labels_path)
    elif args.labels:
        raise DatasetError(f"Labels file {labels_path} does not exist.")
    spec = RunnerSpec(args.checkpoint, args.device, args.compile)
    explain = ExplainSettings() if args.explain else None
    store = ResultsStore(args.store)
    if (n := store.sweep_temporaries()):  # left by an earlier run that was killed mid-write
        print(f"removed {n} temporary file{'s' * (n != 1)} left by an interrupted earlier run")
    if args.engine == "ray":
        from mmviz.scale.ray_score import score_folder_ray

        table = score_folder_ray(args.folder, spec, store.root, labels=labels, address=args.address, workers=args.workers,
                                 batch_size=args.batch_size, explain=explain)
    else:
        if args.address or args.workers:
            raise MmvizError("--address and --workers are for --engine ray.",
                             hint="Add --engine ray to score on a Ray cluster, or drop them to score here.")
        runner = spec.build()
        progress, close = terminal_bar("scoring")
        table = score_folder(args.folder, runner, store, labels=labels, batch_size=args.batch_size, progress=progress,
                             explain=args.explain)
        close()
    if (n := store.sweep_temporaries()):
        print(f"removed {n} temporary file{'s' * (n != 1)} left by an interrupted earlier run")
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



def _score_transcripts(args: argparse.Namespace) -> int:
    """``mmviz score sentences.csv``: the text path on human-labelled sentences (audio and video absent)."""
    import pandas as pd

    from mmviz.data.metrics import mmsa_metrics
    from mmviz.data.store import ResultsStore
    from mmviz.data.transcripts import score_transcripts
    from mmviz.errors import MmvizError
    from mmviz.inference.spec import RunnerSpec
    from mmviz.progress import terminal_bar

    if args.engine != "local" or args.explain or args.labels:
        raise MmvizError("A transcripts CSV is scored on this machine, without --engine ray, --explain or --labels "
                         "(its label column is the label).", hint="Drop those options.")
    store = ResultsStore(args.store)
    runner = RunnerSpec(args.checkpoint, args.device, args.compile).build()
    progress, close = terminal_bar("scoring transcripts")
    table = score_transcripts(args.folder, runner, store, batch_size=args.batch_size, progress=progress)
    close()
    print(f"scored {len(table)} transcripts (audio and video absent); store: {store.root}")
    lab = pd.to_numeric(table["label"], errors="coerce")
    ok = lab.notna()
    if ok.sum() > 1:
        for head in ("fused", "text"):
            m = mmsa_metrics(table.loc[ok, f"pred_{head}"].to_numpy(float), lab[ok].to_numpy(float))
            print(f"{head} head: " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"table written to {args.out}")
    return 0
