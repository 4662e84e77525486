"""The sentiment scale the model predicts on, [-3, 3] (CMU-MOSI's), and its class names."""

from __future__ import annotations

import math

SCALE: tuple[float, float] = (-3.0, 3.0)
CLASSES_7: tuple[str, ...] = ("strongly negative", "negative", "weakly negative", "neutral", "weakly positive", "positive",
                              "strongly positive")


def sentiment_class(score: float, n: int = 2) -> str:
    """Class name of a score: 2 classes (negative / positive, >= 0) or 7 (rounded to an integer)."""
    if n == 2:
        return "positive" if score >= 0 else "negative"
    k = int(min(max(round(score), -3), 3)) if math.isfinite(score) else 0
    return CLASSES_7[k + 3]
