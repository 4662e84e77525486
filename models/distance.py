"""How far a clip lies from the model's training data, per branch, and what that does to a head.

Why: a head trained on one generator's voices reads any natural voice with confidence (the
first default model put +2.6 on every human recording). A head cannot know it is guessing;
its input can tell: a pooled branch embedding far from every training embedding is outside
what the head was fitted on. So each branch (text, audio, visual) keeps the mean and a
whitening of the training embeddings' covariance (Ledoit-Wolf shrinkage, since an embedding
has more dimensions than a small corpus has clips) and reports

    ratio = Mahalanobis distance / the 99th percentile of the training clips' own distances

(about 1 or below: like the training data; 3: three times as far as the farthest 1 % of it).
The unimodal head's prediction is multiplied by ``shrink(ratio) = min(1, ratio ** -2)``, so an
unfamiliar voice's head moves toward neutral instead of printing ±2.7 (issue #11, item 4).
The raw head output is kept beside it (``FusionOutput.pred_unshrunk``) and the record says
which is which. The fused head is not shrunk: it is one joint prediction, and which input made
it unreliable is what the distance note and the "without audio" counterfactual show.

Fitted after training by :func:`mmviz.training.distance.fit_branch_distance`; stored as
buffers in the checkpoint's safetensors, so the checkpoint hash covers them. A model whose
config has ``branch_distance = False`` (older checkpoints) has none and shrinks nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

BRANCHES: tuple[str, ...] = ("text", "audio", "visual")
REFERENCE_QUANTILE = 0.99


def shrink(ratio: torch.Tensor) -> torch.Tensor:
    """Factor applied to a unimodal head's prediction: 1 up to the training 99th percentile, then 1/ratio²."""
    r = torch.nan_to_num(ratio, nan=0.0)
    return torch.clamp(r, min=1.0).pow(-2.0)


class BranchDistance(nn.Module):
    """Per-branch Mahalanobis distance to the training embeddings, as a ratio to their 99th percentile."""

    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.branches = tuple(dims)
        for b, d in dims.items():
            self.register_buffer(f"{b}_mean", torch.zeros(d))  # (D,)
            self.register_buffer(f"{b}_whiten", torch.zeros(d, d))  # (D, D): ‖(x - mean) @ W‖ = Mahalanobis
            self.register_buffer(f"{b}_reference", torch.tensor(float("nan")))  # training distances' 99th pct

    def fitted(self, branch: str) -> bool:
        return bool(torch.isfinite(getattr(self, f"{branch}_reference")))

    def distance(self, branch: str, emb: torch.Tensor) -> torch.Tensor:
        """(B,) Mahalanobis distance of ``emb`` (B, D) to the branch's training embeddings."""
        mean, w = getattr(self, f"{branch}_mean"), getattr(self, f"{branch}_whiten")
        return ((emb.to(w.dtype) - mean) @ w).norm(dim=-1)  # (B,)

    def forward(self, branch: str, emb: torch.Tensor) -> torch.Tensor:
        """(B,) distance ratio (NaN when the branch was never fitted)."""
        if not self.fitted(branch):
            return torch.full(emb.shape[:1], float("nan"), device=emb.device)
        return self.distance(branch, emb) / getattr(self, f"{branch}_reference")

    @torch.no_grad()
    def fit(self, branch: str, emb: np.ndarray) -> dict[str, float]:
        """Fit one branch on training embeddings (n, D); returns what was fitted, for the card."""
        from sklearn.covariance import LedoitWolf

        x = np.asarray(emb, dtype=np.float64)
        x = x[np.isfinite(x).all(1)]
        if len(x) < 10:
            raise ValueError(f"need at least 10 training embeddings to fit the {branch} distance (got {len(x)})")
        lw = LedoitWolf().fit(x)
        vals, vecs = np.linalg.eigh(lw.covariance_)
        w = vecs / np.sqrt(np.clip(vals, 1e-12, None))  # (D, D): x @ w is whitened
        d = np.linalg.norm((x - lw.location_) @ w, axis=1)
        ref = float(np.quantile(d, REFERENCE_QUANTILE))
        dev = getattr(self, f"{branch}_mean").device
        getattr(self, f"{branch}_mean").copy_(torch.as_tensor(lw.location_, dtype=torch.float32, device=dev))
        getattr(self, f"{branch}_whiten").copy_(torch.as_tensor(w, dtype=torch.float32, device=dev))
        getattr(self, f"{branch}_reference").fill_(ref)
        return {"clips": float(len(x)), "shrinkage": float(lw.shrinkage_), "reference_distance": ref,
                "median_ratio": float(np.median(d) / ref)}
