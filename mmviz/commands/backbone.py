"""``mmviz backbone``: prepare (de-quantise and cache) the language model and describe it."""

from __future__ import annotations

import argparse

HELP = "Prepare the built-in SmolLM2 backbone once (cached) and print what it is."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="smollm2-135m-instruct", help="built-in name or a Hugging Face model folder")


def run(args: argparse.Namespace) -> int:
    import time

    from mmviz_models.backbone import load_backbone
    from mmviz_models.config import FusionConfig

    t = time.perf_counter()
    bb = load_backbone(FusionConfig(backbone=args.name))
    c = bb.lm.config
    print(f"{bb.name}: {c.num_hidden_layers} layers, width {c.hidden_size}, vocab {c.vocab_size}, "
          f"{sum(p.numel() for p in bb.lm.parameters()) / 1e6:.0f}M parameters, loaded in {time.perf_counter() - t:.1f} s")
    print(f"fingerprint {bb.fingerprint}")
    return 0
