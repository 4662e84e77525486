"""What each demo clip should show: its scenario and planted valences, before any media.

Why a separate plan: the mix of scenarios (one modality decides, all agree, cues conflict,
nothing salient; decisive cue over the whole clip or only in a time span) is the point of
the corpus, so it is decided here, deterministically from the seed, and the media modules
only render it.

Scenarios cycle through :data:`SCENARIOS` (order shuffled by the seed), so any 12
consecutive clips contain every kind and the committed 48-clip set holds four of each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (kind, decisive modality or "", decisive cue only in a time span)
SCENARIOS: tuple[tuple[str, str, bool], ...] = (
    ("single", "text", False),
    ("single", "audio", False),
    ("single", "visual", False),
    ("single", "audio", True),
    ("single", "visual", True),
    ("agree", "", False),
    ("conflict", "text", False),
    ("conflict", "audio", False),
    ("conflict", "visual", False),
    ("conflict", "audio", True),
    ("conflict", "visual", True),
    ("neutral", "", False),
)
from mmviz.records.modalities import MODALITIES  # noqa: E402
#: |valence| of a background (non-decisive, non-conflicting) cue stays below this.
WEAK = 0.5


@dataclass(frozen=True)
class ClipPlan:
    """Targets for one clip.

    kind: "single", "agree", "conflict" or "neutral".
    targets: wanted valence per modality on [-3, 3] (text is a target: the chosen sentence
        has its own exact valence, which is what the label uses).
    span_modality: "audio" or "visual" when that cue is shown only in a time span, else "".
    seed: the clip's own seed (derived from the corpus seed and the clip index).
    """

    index: int
    kind: str
    targets: dict[str, float]
    span_modality: str
    seed: int


def clip_seed(corpus_seed: int, index: int) -> int:
    """A per-clip seed independent of how many clips are generated."""
    return int(np.random.SeedSequence([int(corpus_seed), int(index)]).generate_state(1)[0])


def _weak(rng: np.random.Generator) -> float:
    return float(rng.uniform(-WEAK, WEAK))


def plan_clip(index: int, corpus_seed: int) -> ClipPlan:
    """The plan for clip ``index`` of a corpus made with ``corpus_seed``."""
    order = np.random.default_rng([int(corpus_seed), 12]).permutation(len(SCENARIOS))
    kind, decisive, span = SCENARIOS[int(order[index % len(SCENARIOS)])]
    seed = clip_seed(corpus_seed, index)
    rng = np.random.default_rng(seed)
    sign = float(rng.choice([-1.0, 1.0]))
    t = {m: _weak(rng) for m in MODALITIES}
    if kind == "single":
        t[decisive] = sign * float(rng.uniform(1.5, 3.0))
    elif kind == "agree":
        mags = rng.uniform(1.0, 3.0, size=3)
        t = {m: sign * float(v) for m, v in zip(MODALITIES, mags)}
    elif kind == "conflict":
        strong = float(rng.uniform(2.2, 3.0))
        t[decisive] = sign * strong
        other = [m for m in MODALITIES if m != decisive][int(rng.integers(2))]
        t[other] = -sign * float(rng.uniform(1.0, strong - 0.7))
    t = {m: round(float(np.clip(v, -3, 3)), 2) for m, v in t.items()}
    return ClipPlan(index, kind, t, decisive if span else "", seed)
