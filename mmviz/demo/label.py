"""The demo label as a documented function of the three planted valences.

Why this rule: an explainer is only checkable when the right answer is known. The demo
label is decided by *one* modality, the one with the strongest cue, so every clip has a
ground-truth "decisive modality" that attributions should point at, and clips whose cues
disagree (conflict) test whether the model follows the strong cue rather than averaging.

The rule (all valences on the MOSI scale [-3, 3])::

    label(text, vocal, facial):
        m = the modality with the largest |valence|
            (ties broken in the order text, audio, visual)
        if |valence_m| >= SALIENCE (1.0):  label = valence_m, decisive = m
        else:                               label = 0.0,       decisive = "none"

    conflict = among the salient cues (|valence| >= SALIENCE) there is at least one
               positive and one negative.

Hand-computed cases (also in tests/test_demo_label.py):
    (2.5,  0.0,  0.0) ->  2.5, text,   no conflict
    (0.3, -2.0,  0.4) -> -2.0, audio,  no conflict
    (1.0,  1.5,  2.0) ->  2.0, visual, no conflict (all agree)
    (2.5, -1.5,  0.0) ->  2.5, text,   conflict
    (0.5, -0.8,  0.9) ->  0.0, none,   no conflict
    (2.0,  0.0, -2.0) ->  2.0, text (tie -> text first), conflict
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MODALITIES: tuple[str, ...] = ("text", "audio", "visual")
#: A cue counts as present when its |valence| reaches this value.
SALIENCE = 1.0


@dataclass(frozen=True)
class Label:
    """The label of one clip and why.

    value: sentiment on [-3, 3].
    decisive_modality: "text", "audio", "visual" or "none".
    conflict: salient cues of opposite sign are present.
    """

    value: float
    decisive_modality: str
    conflict: bool


def demo_label(text_valence: float, vocal_valence: float, facial_valence: float) -> Label:
    """Apply the rule in the module docstring."""
    vals = (float(text_valence), float(vocal_valence), float(facial_valence))
    for v in vals:
        if not -3.0 <= v <= 3.0:
            raise ValueError(f"valences must lie in [-3, 3], got {vals}")
    best = max(range(3), key=lambda i: (abs(vals[i]), -i))
    salient = [v for v in vals if abs(v) >= SALIENCE]
    conflict = any(v > 0 for v in salient) and any(v < 0 for v in salient)
    if abs(vals[best]) >= SALIENCE:
        return Label(round(vals[best], 3), MODALITIES[best], conflict)
    return Label(0.0, "none", conflict)


def label_without(meta: dict, dropped: tuple[str, ...]) -> float | None:
    """The label a generated clip would have with the ``dropped`` modalities removed.

    A removed cue carries no valence, so the rule is applied with that valence set to 0
    (``meta`` holds the planted ``text_valence``, ``vocal_valence``, ``facial_valence``).
    None when the clip's metadata has no planted valences (real data: no rule to apply).
    """
    keys = {"text": "text_valence", "audio": "vocal_valence", "visual": "facial_valence"}
    try:
        vals = {m: float(meta[k]) for m, k in keys.items()}
    except (KeyError, TypeError, ValueError):
        return None
    if any(math.isnan(v) for v in vals.values()):  # not a planted clip
        return None
    return demo_label(*(0.0 if m in dropped else vals[m] for m in MODALITIES)).value
