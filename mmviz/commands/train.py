"""``mmviz train``: train the fusion model on a features folder or an MMSA pickle."""

from __future__ import annotations

import argparse

from mmviz.commands._args import WEIGHT, count, int_list, non_negative_int, number, positive_float, seed
from mmviz.commands.aux_options import add_aux_arguments, aux_changes
from mmviz.commands.run_options import add_device_options

HELP = "Train the fusion model (AdamW, warm-up + cosine, early stopping on validation MAE; resumable)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", help="features folder(s) (records + metadata.csv) or MMSA .pkl file(s)")
    p.add_argument("--out", required=True, help="output folder for the checkpoint")
    p.add_argument("--backbone", default="smollm2-135m-instruct", help="built-in name, 'tiny-random-llama', or a model folder")
    p.add_argument("--fusion-tokens", type=count("--fusion-tokens", example=16), default=16)
    p.add_argument("--fusion-layers", type=int_list("--fusion-layers"), default=(), help="comma-separated LM layer indices (default: 6 in the upper half)")
    p.add_argument("--epochs", type=count("--epochs", example=10), default=10)
    p.add_argument("--batch-size", type=count("--batch-size", example=16), default=16)
    p.add_argument("--lr", type=positive_float("--lr"), default=3e-4)
    p.add_argument("--patience", type=non_negative_int("--patience"), default=3)
    p.add_argument("--max-steps", type=count("--max-steps", example=1000), default=None)
    p.add_argument("--seed", type=seed(), default=0)
    p.add_argument("--lm-loss", type=number("--lm-loss", WEIGHT), default=0.0, help="weight of the LM polarity-word loss (0 = off)")
    add_device_options(p, default="cpu", compile=False, precision="training is float32 on every device")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last if it exists")
    add_strategy_arguments(p)
    add_aux_arguments(p)


def add_strategy_arguments(p: argparse.ArgumentParser) -> None:
    """``--strategy`` and its options (see ``models/strategies.py`` and ``mmviz.training.strategies``)."""
    p.add_argument("--strategy", choices=("deep", "late", "early", "ume", "umt"), default="deep",
                   help="deep: fusion tokens + cross-attention (default); late: mean of the unimodal heads; early: MLP on "
                        "the concatenated pooled features; ume: independently trained text/audio/visual members, averaged; "
                        "umt: deep fusion distilled from a ume --teacher")
    p.add_argument("--ume-weights", choices=("mean", "learned"), default=None,
                   help="ume only: plain mean of the members (default) or softmax weights fitted on the validation split")
    p.add_argument("--teacher", default=None, help="umt only: a checkpoint trained with --strategy ume")
    p.add_argument("--distill-weight", type=number("--distill-weight", WEIGHT), default=None,
                   help="umt only: weight of the distillation loss toward the teacher (default 1.0)")


def strategy_options(args: argparse.Namespace) -> dict:
    """FusionConfig fields for ``args``'s strategy; StrategyError (exit 2) on options that do not go together."""
    from mmviz.training.strategies import StrategyError, check_teacher_kind

    st = args.strategy
    if args.ume_weights is not None and st != "ume":
        raise StrategyError(f"--ume-weights is an option of --strategy ume, not {st}.", hint="Drop it, or use --strategy ume.")
    if st == "umt" and args.teacher is None:
        raise StrategyError("--strategy umt needs --teacher: the uni-modal ensemble whose members it learns from.",
                            hint="Train one with `mmviz train DATA --strategy ume --out TEACHER`, then pass --teacher TEACHER.")
    if st != "umt" and (args.teacher is not None or args.distill_weight is not None):
        raise StrategyError(f"--teacher and --distill-weight are options of --strategy umt, not {st}.",
                            hint="Drop them, or use --strategy umt.")
    if args.teacher is not None:
        check_teacher_kind(args.teacher)  # before any data is read: a wrong teacher fails at once
    return {"strategy": st, "ume_weights": args.ume_weights or "mean"}


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from mmviz.data.dataset import load_dataset
    from mmviz.inference.device import resolve_device
    from mmviz.training.loop import TrainSettings, train
    from mmviz_models.config import FusionConfig, LossWeights

    aux_cfg, aux_loss, aux_settings = aux_changes(args)  # before any work: a wrong combination fails at once
    device = str(resolve_device(args.device))  # before loading data: absent CUDA fails at once
    strategy = strategy_options(args)
    data = [c for path in args.data for c in load_dataset(path)]
    layers = tuple(args.fusion_layers)
    cfg = FusionConfig(backbone=args.backbone, n_fusion_tokens=args.fusion_tokens, fusion_layers=layers,
                       loss=LossWeights(lm=args.lm_loss, **aux_loss), **aux_cfg)
    cfg = cfg.replace(**strategy, loss=dataclasses.replace(cfg.loss, distill=args.distill_weight or 1.0)
                      if args.strategy == "umt" else cfg.loss)
    s = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                      seed=args.seed, max_steps=args.max_steps, **aux_settings)
    counts = {k: sum(c.split == k for c in data) for k in ("train", "valid", "test")}
    print(f"training on {counts['train']} clips, validating on {counts['valid']} ({counts['test']} held out)")
    summary = train(cfg, data, args.out, s, resume=args.resume, device=device, teacher=args.teacher)
    print(json.dumps({k: summary[k] for k in ("best_valid_mae", "epochs_run", "steps", "checkpoint_hash")}, indent=1))
    return 0
