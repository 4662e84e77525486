"""Spread the words of plain text over the clip's voiced segments (estimated times).

Why: typed text and .txt sidecars have no times, but the model and the figures need every word
on the clip's clock. Words are laid over the steps where the speaker is active, in proportion
to their length, so they line up with speech instead of with pauses. Every word is flagged
``estimated=True`` and figures draw them as such.
"""

from __future__ import annotations

import numpy as np

from mmviz.records.features import Word


def voiced_segments(active: np.ndarray, times: np.ndarray, step: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each run of active steps (``times`` are step centres)."""
    act = np.asarray(active) > 0.5
    segs: list[tuple[float, float]] = []
    k = 0
    while k < len(act):
        if act[k]:
            j = k
            while j + 1 < len(act) and act[j + 1]:
                j += 1
            segs.append((float(times[k] - step / 2), float(times[j] + step / 2)))
            k = j + 1
        else:
            k += 1
    return segs


def spread_words(text: str, segments: list[tuple[float, float]], *, duration: float) -> tuple[Word, ...]:
    """Lay the words of ``text`` over ``segments`` (or over [0, duration] when there are none).

    Each word gets a share of the total voiced time proportional to len(word) + 1; a word never
    straddles two segments (it goes to the segment where its midpoint falls, clipped to it).
    """
    tokens = text.split()
    if not tokens:
        return ()
    segs = [(a, b) for a, b in segments if b > a] or [(0.0, max(float(duration), 1e-3))]
    lengths = np.array([b - a for a, b in segs])
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    total = cum[-1]
    weights = np.array([len(t) + 1 for t in tokens], dtype=float)
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * total  # on the voiced-time axis

    def to_clip(u: float, seg: int) -> float:
        return segs[seg][0] + (u - cum[seg])

    words = []
    for tok, u0, u1 in zip(tokens, edges[:-1], edges[1:]):
        mid = (u0 + u1) / 2
        seg = int(min(np.searchsorted(cum, mid, side="right") - 1, len(segs) - 1))
        a = max(to_clip(u0, seg), segs[seg][0])
        b = min(to_clip(u1, seg), segs[seg][1])
        words.append(Word(tok, round(float(a), 4), round(float(max(b, a)), 4), True))
    return tuple(words)
