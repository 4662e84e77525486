"""The modality names every layer shares (declared once).

MODALITIES: what a clip holds and what explanations remove, in display order.
TIME_MODALITIES: the ones with a time axis (audio and visual steps).
KEY_MODALITIES: what a cross-attention key belongs to, indexed by ``Inspection.key_modality``
    (the same order as ``mmviz_models.fusion.MODALITY_NAMES``; a test keeps them equal).
"""

from __future__ import annotations

MODALITIES: tuple[str, ...] = ("text", "audio", "visual")
TIME_MODALITIES: tuple[str, ...] = ("audio", "visual")
KEY_MODALITIES: tuple[str, ...] = ("null", "audio", "visual")
