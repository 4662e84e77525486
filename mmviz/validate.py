"""Allowed ranges of numeric settings, checked with one message style at every entry point.

Why one module: the same number (frames per second, audio hop, a seed) reaches the code from
the command line, from the dashboard and from library calls. A bad value used to hang the
frame sampler (``fps < 0``) or end in a ZeroDivisionError (``fps = 0``, ``hop = 0``). Each
range is declared once here; the CLI's argparse types (mmviz/commands/_args.py) and the public
functions of mmviz.media / mmviz.features check against the same declaration, so the message
always says what was wrong, the allowed range and what to do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mmviz.errors import MmvizError


class InvalidSettingError(MmvizError):
    """A numeric setting (option or argument) is outside its allowed range or not a number."""

    kind = "invalid-setting"


@dataclass(frozen=True)
class Range:
    """The allowed values of one numeric setting.

    low / high: bounds (None = unbounded); low_open: the low bound itself is not allowed
    (``> 0`` rather than ``>= 0``). integer: only whole numbers. example: a good value, shown
    in the hint.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    example: str = ""

    def describe(self) -> str:
        """E.g. 'a number > 0 and <= 240', 'a whole number >= 1'."""
        kind = "a whole number" if self.integer else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"<= {_fmt(self.high)}")
        return f"{kind} {' and '.join(parts)}".strip()

    def allows(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.integer and value != int(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


#: visual sampling rate, frames per second (the clip's own rate caps it anyway)
FPS = Range(low=0, low_open=True, high=240, example="10")
#: audio step, seconds: the descriptors are pooled from a 10 ms grid, so a step is at least that
HOP = Range(low=0.01, high=10, example="0.1")
#: a duration limit or a window end, seconds
SECONDS_POSITIVE = Range(low=0, low_open=True, example="600")
#: a window start, seconds
SECONDS_FROM_ZERO = Range(low=0, example="0")
#: pixels of an analysis frame (2×2 is the smallest frame a yuv420p codec can hold)
PIXELS = Range(low=4, integer=True, example=str(640 * 360))
#: an audio sample rate, Hz
SAMPLE_RATE = Range(low=1, high=1_000_000, integer=True, example="16000")
#: counts that must be at least one (clips, epochs, batch size, fusion tokens, steps)
COUNT = Range(low=1, integer=True, example="1")
#: counts that may be zero (patience) and random seeds (numpy needs seeds >= 0)
NON_NEGATIVE_INT = Range(low=0, integer=True, example="0")
SEED = Range(low=0, high=2 ** 32 - 1, integer=True, example="0")
#: non-negative weights (a loss weight; 0 = off)
WEIGHT = Range(low=0, example="0")
#: a positive rate or weight (learning rate)
POSITIVE = Range(low=0, low_open=True, example="0.0003")
#: a TCP port
PORT = Range(low=1, high=65535, integer=True, example="8501")


def check_number(name: str, value: object, allowed: Range, *, hint: str | None = None, given: str | None = None) -> float:
    """Return ``value`` as a float (an int for integer ranges) or raise InvalidSettingError.

    name: how the user knows the setting ('--fps', 'fps', 'hop'). hint: what to do; by default
    'Give NAME a value such as EXAMPLE.' given: the text the user typed, shown instead of the
    parsed value.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
        ok = not isinstance(value, bool) and allowed.allows(number)
    except (TypeError, ValueError, OverflowError):
        number, ok = float("nan"), False
    if not ok:
        raise InvalidSettingError(
            f"{name} must be {allowed.describe()}, got {given if given is not None else repr(value)}.",
            hint=hint or (f"Give {name} a value such as {allowed.example}." if allowed.example else None))
    return int(number) if allowed.integer else number


__all__ = ["InvalidSettingError", "Range", "check_number", "FPS", "HOP", "SECONDS_POSITIVE", "SECONDS_FROM_ZERO",
           "PIXELS", "SAMPLE_RATE", "COUNT", "NON_NEGATIVE_INT", "SEED", "WEIGHT", "POSITIVE", "PORT"]
