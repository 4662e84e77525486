"""``mmviz build-default``: rebuild the shipped default checkpoint (corpus → training → model card)."""

from __future__ import annotations

import argparse

from mmviz.commands._args import seed

HELP = "Rebuild the default checkpoint from generated corpora (+ real human-rated text when available)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="models/default")
    p.add_argument("--work", default=None, help="where corpora are cached (default: $MMVIZ_CACHE/build-default)")
    p.add_argument("--size", default="full", choices=["full", "small"])
    p.add_argument("--shared-dir", default=None, help="folder holding data/text (default: ../shared if present)")
    p.add_argument("--seed", type=seed(), default=7)
    p.add_argument("--resume", action="store_true", help="continue an interrupted (or shorter) training run in --out")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.training.default_recipe import Recipe, build_default
    from mmviz_models.backbone import cache_dir

    shared = args.shared_dir or (Path(__file__).resolve().parents[3] / "shared")
    work = args.work or cache_dir() / "build-default"
    card = build_default(args.out, work, Recipe(size=args.size, seed=args.seed), shared_dir=shared, resume=args.resume)
    print(f"checkpoint {card['checkpoint_hash']} written to {args.out} ({card['build_seconds'] / 60:.1f} min)")
    return 0
