"""The verdict: did one modality decide, did they add up, or did they disagree?

The rule (from the exact Shapley values phi_m of text, audio, visual; T = sum_m |phi_m|):

1. A modality is *salient* when |phi_m| >= 20 % of T.
2. **conflicting** — at least one salient modality pushes the score up (phi > 0) and at least
   one salient modality pulls it down (phi < 0).
3. otherwise **dominant** — the largest |phi_m| is at least 60 % of T;
4. otherwise **complementary** — two or more salient modalities push the same way and none
   carries 60 %.

The *dominant* field is always the modality with the largest |phi_m|. When T is below
``WEAK`` (score units) the text says that no modality moves the score much. When the
interaction term is at least 25 % of T the text adds that the modalities act together (the
whole differs from the sum of the single-modality effects).
"""

from __future__ import annotations

import numpy as np

from mmviz.explain.record import MODALITIES, ExplainSettings, ModalityShapley, Verdict

SALIENT, DOMINANT, INTERACTING, WEAK = 0.2, 0.6, 0.25, 0.05
RULE = ("salient: |phi| >= 20% of sum|phi|; conflicting: salient modalities of both signs; "
        "dominant: top |phi| >= 60% of sum|phi|; complementary: otherwise")
WORDS = {"text": "the words", "audio": "the voice", "visual": "the face"}


def _join(ms: list[str]) -> str:
    names = [WORDS[m] for m in ms]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict_from_values(phi: dict, interaction: float = 0.0) -> tuple[str, str, str, dict]:
    """(kind, dominant, text, shares) from Shapley values {modality: phi}."""
    mags = {m: abs(float(phi.get(m, 0.0))) for m in MODALITIES}
    total = sum(mags.values())
    shares = {m: (mags[m] / total if total > 0 else 0.0) for m in MODALITIES}
    top = max(MODALITIES, key=lambda m: mags[m])
    salient = [m for m in MODALITIES if total > 0 and mags[m] >= SALIENT * total]
    up = [m for m in salient if phi[m] > 0]
    down = [m for m in salient if phi[m] < 0]
    direction = "up" if phi.get(top, 0.0) >= 0 else "down"
    if up and down:
        kind = "conflicting"
        text = (f"The modalities disagree: {_join(up)} push{'es' if _singular(up) else ''} the score up while "
                f"{_join(down)} pull{'s' if _singular(down) else ''} it down; the score follows {WORDS[top]} "
                f"({shares[top]:.0%} of the evidence).")
    elif shares[top] >= DOMINANT:
        kind = "dominant"
        text = f"Mostly {WORDS[top]}: it carries {shares[top]:.0%} of the evidence and pushes the score {direction}."
    else:
        kind = "complementary"
        text = f"The modalities agree and add up: {_join(salient or [top])} all push the score {direction}."
    if total < WEAK:
        text += f" No modality moves the score much here (all together {total:.2f} points)."
    if total > 0 and abs(interaction) >= INTERACTING * total:
        more = "more" if interaction > 0 else "less"
        text += f" Together they do {more} than the sum of each alone (interaction {interaction:+.2f})."
    return kind, top, text, shares


def verdict(shapley: ModalityShapley, settings: ExplainSettings | None = None) -> Verdict:
    """The verdict record of one clip's Shapley values (rule in the module docstring)."""
    s = settings or shapley.settings  # normalise
    if not all(np.isfinite(float(v)) for v in shapley.values.values()):  # validate
        raise ValueError("Shapley values must be finite")
    kind, top, text, shares = verdict_from_values(shapley.values, shapley.interaction)  # compute
    absent = [m for m in MODALITIES if m not in shapley.present]
    if absent:
        text += f" ({_join(absent).capitalize()} {'is' if len(absent) == 1 else 'are'} missing from this clip and count as 0.)"
    return Verdict(kind, top, text, shares, RULE, s, s.seed)  # build


def _singular(mods) -> bool:
    """Grammatical number of the joined names ("the words" is plural, "the voice" singular)."""
    return len(mods) == 1 and not WORDS[mods[0]].endswith("words")
