"""What each head is trained on, per item: the clip label, or each modality's own valence.

Why: a head called "text" must predict what the *text* says. With ``head_targets="label"``
every head learns the clip label (the first default model: its text head ended up
uncorrelated with real sentiment, because the clip label correlates only weakly with the
transcript's own valence). With ``"planted"`` the unimodal heads learn their modality's valence,
which the demo generator planted and records (:func:`mmviz.demo.corpus.planted_valences`),
and real human-rated text items (:func:`text_only_items`) teach the text head human labels.

Rules for a unimodal head under ``"planted"``:

* the modality was removed (modality dropout) or is absent from the item -> 0.0: nothing
  there carries valence, the same convention the label rule uses for a removed cue;
* else its planted valence when the item records one;
* else NaN: no loss for that head on that item (real clips with an unknown voice valence).

The fused (and per-token) target is always the item's label (relabelled after dropout).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from mmviz.data.dataset import LabelledClip
from mmviz.demo.corpus import planted_valences
from mmviz.records.features import ClipFeatures
from mmviz_models.losses import HeadTargets

NAN = float("nan")


@dataclass(frozen=True)
class ItemTargets:
    """One item's target per head, on [-3, 3]; NaN = no loss for that head."""

    fused: float
    text: float
    audio: float
    visual: float


def _absent(features: ClipFeatures, modality: str) -> bool:
    if modality == "text":
        return not features.transcript.strip()
    m = getattr(features, modality)
    return m is None or m.n_steps == 0


def item_targets(clip: LabelledClip, features: ClipFeatures, fused: float, dropped: Iterable[str] = (),
                 mode: str = "label") -> ItemTargets:
    """The targets of ``clip`` shown as ``features`` (``dropped`` removed) with fused target ``fused``."""
    if mode == "label":
        return ItemTargets(fused, fused, fused, fused)
    if mode != "planted":
        raise ValueError(f"unknown head_targets {mode!r}")
    dropped = set(dropped)
    planted = planted_valences(clip.meta)
    vals = {}
    for m in ("text", "audio", "visual"):
        if m in dropped or _absent(features, m):
            vals[m] = 0.0
        else:
            vals[m] = planted.get(m, NAN)
    return ItemTargets(float(fused), vals["text"], vals["audio"], vals["visual"])


def stack_targets(items: list[ItemTargets], device: torch.device | str = "cpu") -> HeadTargets:
    """A batch's per-head target tensors, each (B,)."""
    def col(name: str) -> torch.Tensor:
        return torch.tensor([getattr(t, name) for t in items], dtype=torch.float32, device=device)

    return HeadTargets(col("fused"), col("text"), col("audio"), col("visual"))


def text_only_items(rows: Iterable[tuple[str, str, float]], split: str = "train", source: str = "mosi") -> list[LabelledClip]:
    """Human-rated sentences as training items with audio and video absent.

    ``rows``: (id, text, valence on [-3, 3]). The features are exactly what ``mmviz score``
    builds for a CSV of transcripts (:func:`mmviz.data.transcripts.text_features`), so the
    model trains on the input it is later scored with. The text valence is the human label;
    the voice and face valences are unknown (NaN) — under ``"planted"`` their heads get 0 (the
    streams are absent) and the clip is never modality-dropped (no label rule for real text).
    """
    from mmviz.data.transcripts import text_features

    out = []
    for rid, text, valence in rows:
        v = float(valence)
        if not str(text).strip() or math.isnan(v):
            continue
        meta = {"clip_id": f"{source}-text:{rid}", "label": v, "text_valence": v, "vocal_valence": NAN,
                "facial_valence": NAN, "text_source": source, "text_source_id": str(rid), "text_only": True}
        out.append(LabelledClip(text_features(f"{source}-text-{rid}", str(text)), v, split, meta))
    return out
