"""Refit the text head on human-labelled text, at the LM layer that carries sentiment.

Why this can be done apart from the rest of the model: the text head reads only a mean of the
frozen LM's hidden states over the transcript's tokens, and those states cannot see the
fusion tokens or the audio-visual input (the text comes first; attention is causal). So the
head's input is a fixed function of the text, and fitting the head alone on cached pooled
states gives exactly what joint training with a text-only loss would give the head — in
seconds instead of hours, and without touching the fused head (which keeps its own text skip).

Layer choice: a ridge probe per candidate layer, scored by 5-fold cross-validation on the
*training* texts (MMSA's Non0 Acc-2, ties by Pearson r); the dev split is never looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from mmviz.inference.batching import tokenize
from mmviz_models.fusion import FusionModel, _masked_mean
from mmviz_models.lm_layer import attention_bias, run_layer

#: hidden-state indices probed when the layer is chosen automatically (0 = embeddings, i = after layer i)
CANDIDATE_LAYERS: tuple[int, ...] = (8, 10, 12, 14, 15, 16, 18, 20, 22, 24, 26, 28)


@torch.no_grad()
def pooled_text_states(model: FusionModel, tokenizer, texts: Sequence[str], layers: Sequence[int], *,
                       batch: int = 64, progress: Callable[[float], None] | None = None) -> dict[int, np.ndarray]:
    """{layer: (n, D) float32}: the masked mean of the LM's raw hidden state after each of ``layers``.

    Same tokenisation, padding and layer code as :meth:`FusionModel.encode_text`, so a head fitted
    on these reads exactly what the model gives it at run time.
    """
    want = set(int(x) for x in layers)
    top = max(want)
    out = {k: np.zeros((len(texts), model.d_model), np.float32) for k in want}
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
    dev = next(model.parameters()).device
    for s in range(0, len(texts), batch):
        idx = order[s : s + batch]
        ids, mask = tokenize([texts[i] for i in idx], tokenizer, model.cfg.max_text_tokens)
        ids, mask = ids.to(dev), mask.to(dev)
        h = model.embed_tokens(ids)  # (B, L, D)
        pos = (mask.long().cumsum(1) - 1).clamp_min(0)  # (B, L)
        bias, rot = attention_bias(mask, ids.shape[1], h.dtype), model.rotary(h, pos)
        if 0 in want:
            out[0][idx] = _masked_mean(h, mask).float().cpu().numpy()
        for i, layer in enumerate(model.layers[:top], 1):
            h, _ = run_layer(layer.lm_layer, h, bias, rot)  # (B, L, D)
            if i in want:
                out[i][idx] = _masked_mean(h, mask).float().cpu().numpy()
        if progress is not None:
            progress(min(s + batch, len(texts)) / len(texts))
    return out


def _non0_acc2(pred: np.ndarray, y: np.ndarray) -> float:
    nz = y != 0
    return float(np.mean((pred[nz] > 0) == (y[nz] > 0))) if nz.any() else float("nan")


def probe_layers(states: dict[int, np.ndarray], y: np.ndarray, folds: int = 5, seed: int = 0) -> list[dict]:
    """Per layer, the cross-validated Non0 Acc-2 and r of a ridge probe on the training texts."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = []
    for layer, X in sorted(states.items()):
        pred = np.zeros(len(y))
        for tr, te in KFold(folds, shuffle=True, random_state=seed).split(X):
            m = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 4, 9))).fit(X[tr], y[tr])
            pred[te] = m.predict(X[te])
        rows.append({"layer": int(layer), "non0_acc2": _non0_acc2(pred, y), "r": float(np.corrcoef(pred, y)[0, 1])})
    return rows


def best_layer(rows: list[dict]) -> int:
    return int(max(rows, key=lambda r: (round(r["non0_acc2"], 3), r["r"]))["layer"])


def fit_head(head: nn.Module, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, *, epochs: int = 300,
             lr: float = 1e-3, weight_decay: float = 1e-2, seed: int = 0, valid_share: float = 0.1) -> dict:
    """Train ``head`` (one of the model's own head modules, re-initialised) on pooled states, L1 loss.

    Early stopping on a held-out share of the training texts (best epoch's weights kept).
    ``weight``: per-item loss weights (e.g. to keep one source from dominating).
    """
    g = torch.Generator().manual_seed(seed)
    for m in head.modules():
        if isinstance(m, (nn.Linear, nn.LayerNorm)):
            m.reset_parameters()
    n = len(y)
    perm = torch.randperm(n, generator=g).numpy()
    n_va = max(1, int(valid_share * n))
    va, tr = perm[:n_va], perm[n_va:]
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    wt = torch.ones(n) if weight is None else torch.as_tensor(weight, dtype=torch.float32)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_state, best_epoch = float("inf"), None, -1
    head.train()
    for epoch in range(epochs):
        for b in torch.randperm(len(tr), generator=g).split(64):
            i = torch.as_tensor(tr[b.numpy()])
            loss = ((head(Xt[i]).squeeze(-1) - yt[i]).abs() * wt[i]).sum() / wt[i].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            v = float((head(Xt[va]).squeeze(-1) - yt[va]).abs().mean())
        head.train()
        if v < best:
            best, best_epoch = v, epoch
            best_state = {k: t.detach().clone() for k, t in head.state_dict().items()}
        elif epoch - best_epoch >= 30:
            break
    head.load_state_dict(best_state)
    head.eval()
    return {"valid_mae": best, "epochs": best_epoch + 1, "items": n}
