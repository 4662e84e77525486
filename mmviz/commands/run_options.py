"""Options shared by the commands that run the model: ``--device`` and ``--compile``.

Kept apart from the command modules so every command spells them the same way; importing it
does not import torch (the CLI builds every parser on each call).
"""

from __future__ import annotations

import argparse

from mmviz.inference.device import DEVICE_CHOICES, parse_device


INFERENCE = "on CUDA in bf16 autocast, on the CPU in float32"


def add_device_options(p: argparse.ArgumentParser, *, default: str = "auto", compile: bool = True,
                       precision: str = INFERENCE) -> None:
    """Add ``--device {auto,cpu,cuda,cuda:N}`` (and ``--compile``) to a command's parser."""
    p.add_argument("--device", type=parse_device, default=default, metavar="{" + DEVICE_CHOICES.replace(" ", "") + "}",
                   help=f"where the model runs (default: {default}); {precision}")
    if compile:
        p.add_argument("--compile", action="store_true",
                       help="torch.compile the model's forward pass (CUDA only; the first batch waits for the compilation)")


def at_least_one(text: str) -> int:
    """argparse ``type=`` for counts: a whole number >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {v}")
    return v
