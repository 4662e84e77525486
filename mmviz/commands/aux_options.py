"""``mmviz train`` options for the auxiliary objectives: ``--aux``, ``--pseudo-labels``, ``--aligner``.

Kept in their own module so the train command gains them in two lines. Importing it does not
import torch (the CLI builds every parser on each call). A value outside the choices, or a
weight given for an objective that is off, is refused with an
:class:`~mmviz.validate.InvalidSettingError` (one sentence, exit code 2), not argparse's usage dump.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from mmviz.commands._args import WEIGHT, count, number
from mmviz.validate import InvalidSettingError

AUX: tuple[str, ...] = ("none", "mi")
PSEUDO_LABELS: tuple[str, ...] = ("none", "self-mm")  # = mmviz.training.pseudo_labels.PSEUDO_LABELS
ALIGNERS: tuple[str, ...] = ("none", "shared-prompt")  # = mmviz_models.config.ALIGNERS
#: weights used when an objective is switched on and its weight is not given
DEFAULT_MI, DEFAULT_MI_PAIRS, DEFAULT_ALIGN = 0.1, 0.05, 0.5


def choice(option: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse type: one of ``allowed`` (InvalidSettingError naming them otherwise)."""

    def parse(text: str) -> str:
        if text not in allowed:
            raise InvalidSettingError(f"{option} must be one of {', '.join(allowed)}; got {text!r}.",
                                      hint=f"For example {option} {allowed[-1]}.")
        return text

    parse.__name__ = f"{option} value"
    return parse


def add_aux_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("auxiliary objectives")
    g.add_argument("--aux", type=choice("--aux", AUX), default="none", metavar="{" + ",".join(AUX) + "}",
                   help="mi: InfoNCE terms between the fused and each unimodal embedding and between unimodal pairs")
    g.add_argument("--mi-weight", type=number("--mi-weight", WEIGHT), default=None,
                   help=f"weight of the fused↔unimodal InfoNCE terms (with --aux mi; default {DEFAULT_MI})")
    g.add_argument("--mi-pairs-weight", type=number("--mi-pairs-weight", WEIGHT), default=None,
                   help=f"weight of the unimodal-pair InfoNCE terms (with --aux mi; default {DEFAULT_MI_PAIRS})")
    g.add_argument("--pseudo-labels", type=choice("--pseudo-labels", PSEUDO_LABELS), default="none",
                   metavar="{" + ",".join(PSEUDO_LABELS) + "}",
                   help="self-mm: the text/audio/visual heads learn Self-MM labels generated from each modality's evidence")
    g.add_argument("--pseudo-labels-replace", action="store_true",
                   help="with --pseudo-labels, also replace real per-head targets (default: only fill unknown ones)")
    g.add_argument("--aligner", type=choice("--aligner", ALIGNERS), default="none", metavar="{" + ",".join(ALIGNERS) + "}",
                   help="shared-prompt: learnable prompt vectors put text, audio and visual in one space (SPANER-style)")
    g.add_argument("--align-weight", type=number("--align-weight", WEIGHT), default=None,
                   help=f"weight of the aligner's contrastive loss (with --aligner shared-prompt; default {DEFAULT_ALIGN})")
    g.add_argument("--aligner-prompts", type=count("--aligner-prompts", example=8), default=None,
                   help="number of shared prompt vectors (with --aligner shared-prompt; default 8)")


def aux_changes(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(FusionConfig changes, LossWeights changes, TrainSettings changes) the options ask for."""
    _needs(args.aux == "mi", "--aux mi", mi_weight="--mi-weight", mi_pairs_weight="--mi-pairs-weight", args=args)
    _needs(args.aligner == "shared-prompt", "--aligner shared-prompt", align_weight="--align-weight",
           aligner_prompts="--aligner-prompts", args=args)
    if args.pseudo_labels_replace and args.pseudo_labels == "none":
        raise InvalidSettingError("--pseudo-labels-replace only applies with --pseudo-labels self-mm.",
                                  hint="Add --pseudo-labels self-mm, or drop --pseudo-labels-replace.")
    cfg: dict[str, Any] = {}
    loss: dict[str, Any] = {}
    if args.aux == "mi":
        loss["mi"] = DEFAULT_MI if args.mi_weight is None else float(args.mi_weight)
        loss["mi_pairs"] = DEFAULT_MI_PAIRS if args.mi_pairs_weight is None else float(args.mi_pairs_weight)
    if args.aligner != "none":
        cfg["aligner"] = args.aligner
        if args.aligner_prompts is not None:
            cfg["aligner_prompts"] = int(args.aligner_prompts)
        loss["align"] = DEFAULT_ALIGN if args.align_weight is None else float(args.align_weight)
    settings = {"pseudo_labels": args.pseudo_labels, "pseudo_labels_replace": bool(args.pseudo_labels_replace)}
    return cfg, loss, settings


def _needs(on: bool, switch: str, *, args: argparse.Namespace, **options: str) -> None:
    for attr, option in options.items():
        if getattr(args, attr) is not None and not on:
            raise InvalidSettingError(f"{option} only applies with {switch}.", hint=f"Add {switch}, or drop {option}.")
