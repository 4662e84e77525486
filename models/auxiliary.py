"""The optional auxiliary objectives added to the head losses: InfoNCE terms and the aligner's loss.

Kept apart from ``losses.py`` because these terms need the model's own modules (the InfoNCE
critic's projections) and the clips' modality presence, not just predictions and targets.
Every term is off unless its weight in ``cfg.loss`` is > 0 (and, for ``align``, the model has
the shared-prompt aligner), so a default config trains exactly as before.
"""

from __future__ import annotations

import torch

from .aligner import alignment_loss
from .fusion import FusionModel, FusionOutput
from .mi import mi_loss


def auxiliary_loss(model: FusionModel, out: FusionOutput) -> tuple[torch.Tensor | None, dict[str, float]]:
    """(weighted sum of the active auxiliary terms or None when none is active, {name: value})."""
    w = model.cfg.loss
    total, parts = None, {}
    if model.mi is not None:
        t, p = mi_loss(model.mi, out, w.mi, w.mi_pairs)
        total, parts = t, parts | p
    if model.aligner is not None and w.align > 0:
        t, p = alignment_loss(out, w.align)
        total, parts = (t if total is None else total + t), parts | p
    return total, parts


def with_auxiliary(model: FusionModel, out: FusionOutput, loss: torch.Tensor, parts: dict[str, float]):
    """``loss`` and ``parts`` of the head losses with the auxiliary terms added (unchanged when none is active)."""
    aux, aux_parts = auxiliary_loss(model, out)
    if aux is None:
        return loss, parts
    return loss + aux, parts | aux_parts
