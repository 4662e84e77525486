"""Unimodal baselines trained on the same data as the fusion model.

They answer "does fusion help?": each sees one modality only, and learns what the model's
head of that modality learns (the label, or its modality's planted valence). Text: ridge regression on the
frozen LM's mean-pooled transcript states (the same text representation the fusion model
has). Audio / visual: gradient-boosted trees on per-clip statistics (mean, std, min, max over
time) of the same named descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV

from mmviz.data.dataset import LabelledClip
from mmviz.inference.batching import tokenize
from mmviz.training.targets import item_targets
from mmviz_models.fusion import FusionModel


def pooled_stats(clip: LabelledClip, which: str, names: tuple[str, ...]) -> np.ndarray:
    m = getattr(clip.features, which)
    if m is None or m.n_steps == 0:
        return np.full(4 * len(names), np.nan)
    v = m.values[:, [m.names.index(n) for n in names]].astype(np.float64)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.concatenate([np.nanmean(v, 0), np.nanstd(v, 0), np.nanmin(v, 0), np.nanmax(v, 0)])


@torch.no_grad()
def text_embeddings(model: FusionModel, tokenizer, clips: list[LabelledClip], batch: int = 32) -> np.ndarray:
    out = []
    for s in range(0, len(clips), batch):
        ids, mask = tokenize([c.features.transcript for c in clips[s : s + batch]], tokenizer, model.cfg.max_text_tokens)
        out.append(model.encode_text(ids, mask).emb_text.float().numpy())
    return np.concatenate(out)


@dataclass
class UnimodalBaselines:
    text: RidgeCV
    audio: HistGradientBoostingRegressor
    visual: HistGradientBoostingRegressor

    @classmethod
    def fit(cls, model: FusionModel, tokenizer, train: list[LabelledClip], seed: int = 0) -> "UnimodalBaselines":
        cfg = model.cfg
        # each baseline learns what the model's head of its modality learns (cfg.head_targets)
        targets = [item_targets(c, c.features, c.label, (), cfg.head_targets) for c in train]

        def fit_on(head: str, x: np.ndarray, est):
            y = np.array([getattr(t, head) for t in targets], dtype=float)
            ok = ~np.isnan(y)
            return est.fit(x[ok], y[ok])

        text = fit_on("text", text_embeddings(model, tokenizer, train), RidgeCV(alphas=np.logspace(-2, 3, 12)))
        xa = np.stack([pooled_stats(c, "audio", cfg.audio_features) for c in train])
        xv = np.stack([pooled_stats(c, "visual", cfg.visual_features) for c in train])
        audio = fit_on("audio", xa, HistGradientBoostingRegressor(random_state=seed, max_iter=300))
        visual = fit_on("visual", xv, HistGradientBoostingRegressor(random_state=seed, max_iter=300))
        return cls(text, audio, visual)

    def predict(self, model: FusionModel, tokenizer, clips: list[LabelledClip]) -> dict[str, np.ndarray]:
        cfg = model.cfg
        return {
            "text": self.text.predict(text_embeddings(model, tokenizer, clips)),
            "audio": self.audio.predict(np.stack([pooled_stats(c, "audio", cfg.audio_features) for c in clips])),
            "visual": self.visual.predict(np.stack([pooled_stats(c, "visual", cfg.visual_features) for c in clips])),
        }
