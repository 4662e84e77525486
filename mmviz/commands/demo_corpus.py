"""``mmviz demo-corpus``: generate clips with planted, known cues (see mmviz/demo)."""

from __future__ import annotations

import argparse

from mmviz.commands._args import count, seed

HELP = "Generate a demo corpus of spoken, animated-face clips whose label and decisive cue are known."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--n", type=count("--n", example=48), default=48, help="number of clips (default 48)")
    parser.add_argument("--seed", type=seed(), default=0, help="random seed; the same seed gives the same corpus")
    parser.add_argument(
        "--text-source", choices=("templates", "mosi", "vader"), default="templates",
        help="sentences: project templates (default), or real human-rated text from --shared-dir",
    )
    parser.add_argument("--shared-dir", default=None, help="folder holding data/text (needed for mosi/vader)")
    parser.add_argument(
        "--factors", choices=("train", "heldout"), default=None,
        help="varied generator: many voices, faces, frames and phrases from the training pools ('train') or "
             "only from the held-out pools ('heldout', a test set of unseen speakers, faces and wording); "
             "default: the original single-voice, single-face generator",
    )
    parser.add_argument(
        "--features-only", action="store_true",
        help="write extracted feature records instead of mp4 files (for large training corpora)",
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mmviz.demo.corpus import generate_corpus
    from mmviz.demo.voice import require_espeak

    require_espeak()  # fail before the progress bar appears
    with tqdm(total=args.n, unit="clip", desc="demo corpus") as bar:
        meta = generate_corpus(
            args.out, args.n, args.seed,
            text_source=args.text_source, shared_dir=args.shared_dir,
            keep_media=not args.features_only, factors=args.factors,
            progress=lambda stage, frac: bar.update(round(frac * bar.total) - bar.n),
        )
    counts = meta["decisive_modality"].value_counts().to_dict()
    print(f"wrote {len(meta)} clips and metadata.csv to {args.out}; decisive: {counts}; conflicts: {int(meta['conflict'].sum())}")
    return 0
