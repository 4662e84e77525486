"""``mmviz refit-heads``: a text head that reads real sentiment, and distances to the training data."""

from __future__ import annotations

import argparse

HELP = ("Refit a checkpoint's text head on human-rated text (and optionally its audio and visual heads on "
        "each modality alone) and fit per-branch distances to its training data.")
EPILOG = """\
Copies CHECKPOINT to --out with (1) the text head refitted on CMU-MOSI train + VADER (from
--shared-dir) + the corpus' template sentences, at the LM layer a cross-validated probe picks
(or --layer), and (2) per-branch distance statistics (text: those texts; audio/visual: the
corpus clips), so each unimodal prediction shrinks toward 0 on unfamiliar input and the record
says so. With --branch-heads the audio and visual heads are switched to read each modality
encoded on its own (the audio head can no longer see the face) and refitted on the corpus clips'
planted vocal / facial valence. The fusion path and the fused head are unchanged. MOSI dev is
never read.

  mmviz demo-corpus --out corpus --n 150 --features-only
  mmviz refit-heads models/default --corpus corpus --shared-dir ../shared --out refitted"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("checkpoint", help="checkpoint folder to start from (e.g. models/default)")
    p.add_argument("--corpus", required=True, nargs="+",
                   help="features folder(s) from `mmviz demo-corpus --features-only` (the training generator); the first one's "
                        "sentences join the text head's training texts, every folder's clips the audio/visual side")
    p.add_argument("--out", required=True, help="folder for the refitted checkpoint")
    p.add_argument("--shared-dir", default=None, help="folder holding data/text (MOSI train, VADER); without it, templates only")
    p.add_argument("--layer", type=int, default=None, help="LM hidden-state index the text head reads (default: chosen by probe)")
    p.add_argument("--branch-heads", action="store_true",
                   help="also refit the audio and visual heads on each modality encoded alone (branch_view 'separate')")


def run(args: argparse.Namespace) -> int:
    import json

    from mmviz.errors import MmvizError
    from mmviz.training.refit import refit_heads

    if args.layer is not None and args.layer < 0:
        raise MmvizError(f"--layer must be 0 or more (got {args.layer}).", hint="0 = token embeddings, i = after LM layer i.")
    rep = refit_heads(args.checkpoint, args.out, args.corpus[0], args.shared_dir, args.layer, branch_heads=args.branch_heads,
                      more_corpora=args.corpus[1:])
    keys = ("checkpoint_hash", "text_head_layer", "text_head_fit", "branch_heads", "distance")
    print(json.dumps({k: rep[k] for k in keys if k in rep}, indent=1))
    return 0
