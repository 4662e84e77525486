"""Held-out evaluation of a checkpoint: each head vs unimodal baselines, plus MOSI dev (text path).

Shared by ``bench/model_quality.py`` and the default-model recipe, so the model card's
numbers come from exactly the code a reader can re-run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mmviz.data.dataset import LabelledClip
from mmviz.data.metrics import mmsa_metrics
from mmviz.inference.batching import tokenize
from mmviz.training.baselines import UnimodalBaselines
from mmviz.training.loop import evaluate
from mmviz_models.fusion import FusionModel

KEYS = ("Has0_acc_2", "Non0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr")


def heldout_table(model: FusionModel, tokenizer, data: list[LabelledClip], seed: int = 0) -> dict[str, dict[str, float]]:
    """Metrics on the test split for the fused head, each unimodal head, and each baseline."""
    train = [c for c in data if c.split == "train"]
    test = [c for c in data if c.split == "test"]
    if not test:
        raise ValueError("no test clips")
    rows = {f"model: {k} head": v for k, v in evaluate(model, tokenizer, test).items()}
    base = UnimodalBaselines.fit(model, tokenizer, train, seed=seed)
    labels = [c.label for c in test]
    for k, preds in base.predict(model, tokenizer, test).items():
        rows[f"baseline: {k} only"] = mmsa_metrics(preds, labels)
    return rows


@torch.no_grad()
def mosi_dev_text(model: FusionModel, tokenizer, shared_dir: str | Path) -> dict[str, float]:
    """The text path (text head on the frozen LM) on CMU-MOSI dev transcripts and human labels."""
    from mmviz.demo.real_text import load_mosi

    df = load_mosi(shared_dir, modes=("dev",))
    preds = []
    for s in range(0, len(df), 32):
        ids, mask = tokenize(list(df["text"].iloc[s : s + 32]), tokenizer, model.cfg.max_text_tokens)
        preds.extend(model.head_text(model.encode_text(ids, mask).emb_text).squeeze(-1).tolist())
    out = mmsa_metrics(np.array(preds), df["valence"].to_numpy())
    out["n"] = float(len(df))
    return out


def markdown_table(rows: dict[str, dict[str, float]], keys: tuple[str, ...] = KEYS) -> str:
    lines = ["| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(k, float('nan')):.3f}" for k in keys) + " |")
    return "\n".join(lines)
