"""``mmviz build-default``: rebuild the default checkpoint (corpus → training → model card).

It writes to a folder under the cache, never into the package: a retrain must not silently
replace the committed ``models/default``. Shipping a rebuilt model is a separate, explicit copy.
"""

from __future__ import annotations

import argparse

from mmviz.commands._args import count, seed

HELP = "Rebuild the default checkpoint from generated corpora (+ real human-rated text when available)."
EPILOG = """\
The result goes to --out (default: $MMVIZ_CACHE/build-default/model, i.e. ~/.cache/mmviz/...),
never straight into the package. To ship it, copy it over the committed model in a checkout,
review the new MODEL_CARD.md and commit:
  cp OUT/model.safetensors OUT/config.json OUT/meta.json OUT/train_summary.json \\
     OUT/evaluation.json OUT/MODEL_CARD.md models/default/
Weights are stored as float16 (half the file; loaded back as float32) unless --full-precision."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", default=None, help="where the checkpoint and its model card go (default: $MMVIZ_CACHE/build-default/model)")
    p.add_argument("--work", default=None, help="where corpora are cached (default: $MMVIZ_CACHE/build-default)")
    p.add_argument("--size", default="full", choices=["full", "small", "measure"])
    p.add_argument("--head-targets", default="planted", choices=["planted", "label"],
                   help="what the text/audio/visual heads learn: their own modality's valence (default) or the clip label")
    p.add_argument("--shared-dir", default=None, help="folder holding data/text (default: ../shared from the current folder, if present)")
    p.add_argument("--seed", type=seed(), default=7)
    p.add_argument("--epochs", type=count("--epochs", example=8), default=None,
                   help="train at most this many epochs (default: the size's; with --resume, stop a longer run there)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted (or shorter) training run in --out")
    p.add_argument("--full-precision", action="store_true", help="store the weights as float32 (default: float16, half the size)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.training.default_recipe import Recipe, build_default
    from mmviz_models.backbone import cache_dir

    shared = args.shared_dir or Path.cwd().parent / "shared"
    work = args.work or cache_dir() / "build-default"
    out = args.out or cache_dir() / "build-default" / "model"
    recipe = Recipe(size=args.size, seed=args.seed, half=not args.full_precision, head_targets=args.head_targets,
                    epochs=args.epochs)
    card = build_default(out, work, recipe, shared_dir=shared, resume=args.resume)
    print(f"checkpoint {card['checkpoint_hash']} written to {out} ({card['build_seconds'] / 60:.1f} min)")
    print("to ship it: copy it into models/default/ (see `mmviz build-default --help`)")
    return 0
