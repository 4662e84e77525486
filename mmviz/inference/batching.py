"""ClipFeatures -> FusionInputs tensors.

The model reads features *by name*: columns are selected with the checkpoint's feature
names, so a features file with extra or reordered columns still works, and one that lacks a
column is refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mmviz.errors import MmvizError
from mmviz.records.features import ClipFeatures, TimedMatrix
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs


class FeatureMismatchError(MmvizError):
    """The clip's descriptors do not include what the model was trained on."""

    kind = "features"


def select_columns(m: TimedMatrix | None, names: tuple[str, ...], modality: str, clip_id: str) -> TimedMatrix | None:
    """The columns ``names`` of ``m`` in that order (None stays None)."""
    if m is None or not names:
        return m
    missing = [n for n in names if n not in m.names]
    if missing:
        raise FeatureMismatchError(
            f"Clip {clip_id!r} has no {modality} feature(s) {missing[:5]} that the model needs.",
            hint="Re-extract the clip's features with this version of mmviz, or pick a matching checkpoint.",
        )
    idx = [m.names.index(n) for n in names]
    return TimedMatrix(values=m.values[:, idx], names=tuple(names), times=m.times, step=m.step)


def _pad_stack(mats: list[TimedMatrix | None], dim: int, max_steps: int) -> tuple[torch.Tensor, ...]:
    B = len(mats)
    T = max([min(m.n_steps, max_steps) for m in mats if m is not None] + [0])
    vals = torch.zeros(B, T, dim)
    mask = torch.zeros(B, T, dtype=torch.bool)
    times = torch.zeros(B, T)
    for i, m in enumerate(mats):
        if m is None or dim == 0:
            continue
        t = min(m.n_steps, max_steps)
        vals[i, :t] = torch.from_numpy(np.asarray(m.values[:t], dtype=np.float32))
        mask[i, :t] = True
        times[i, :t] = torch.from_numpy(np.asarray(m.times[:t], dtype=np.float32))
    return vals, mask, times


def tokenize(texts: Sequence[str], tokenizer, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded token ids and mask (B, L); empty texts give rows of padding."""
    tokenizer.padding_side = "left"
    enc = tokenizer(
        list(texts), padding=True, truncation=True, max_length=max_tokens, return_tensors="pt", add_special_tokens=False
    )
    ids, mask = enc["input_ids"], enc["attention_mask"].bool()
    if ids.ndim != 2 or ids.shape[1] == 0:
        ids = torch.full((len(texts), 1), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(texts), 1, dtype=torch.bool)
    return ids, mask


def make_inputs(
    clips: Sequence[ClipFeatures], tokenizer, cfg: FusionConfig, *, texts: Sequence[str] | None = None
) -> FusionInputs:
    """Batch clips for the model. ``texts`` overrides the transcripts (e.g. for counterfactuals)."""
    audio = [select_columns(c.audio, cfg.audio_features, "audio", c.clip_id) for c in clips]
    visual = [select_columns(c.visual, cfg.visual_features, "visual", c.clip_id) for c in clips]
    ids, tmask = tokenize(texts if texts is not None else [c.transcript for c in clips], tokenizer, cfg.max_text_tokens)
    a, am, at = _pad_stack(audio, cfg.audio_dim, cfg.max_av_steps)
    v, vm, vt = _pad_stack(visual, cfg.visual_dim, cfg.max_av_steps)
    return FusionInputs(ids, tmask, a, am, at, v, vm, vt)
