"""argparse ``type=`` functions for numeric options, sharing the ranges of mmviz.validate.

Why: argparse turns a ``type=float`` failure into a usage dump, and happily passes ``-5`` or
``nan`` on to code that then hangs or divides by zero. These types check the range at parse
time and raise :class:`mmviz.validate.InvalidSettingError`, which ``mmviz.cli.main`` prints as
one sentence (exit code 2), before any clip is decoded or any model loaded.

Usage: ``p.add_argument("--fps", type=number("--fps", FPS), default=10.0)``.
"""

from __future__ import annotations

from typing import Callable

from mmviz.validate import (
    FPS, HOP, NON_NEGATIVE_INT, PORT, POSITIVE, SECONDS_FROM_ZERO, SECONDS_POSITIVE, SEED, WEIGHT,
    InvalidSettingError, Range, check_number,
)


def number(option: str, allowed: Range) -> Callable[[str], float]:
    """An argparse type: the text of ``option`` parsed as a number in ``allowed``."""

    def parse(text: str) -> float:
        return check_number(option, _parse(text, allowed.integer), allowed, given=repr(text),
                            hint=f"Give {option} a value such as {allowed.example}." if allowed.example else None)

    parse.__name__ = f"{option} value"
    return parse


def _parse(text: str, integer: bool) -> float | str:
    """int/float from text; the text itself when it is not a number (check_number then refuses it)."""
    try:
        return int(text) if integer else float(text)
    except ValueError:
        try:
            return float(text)  # '2.5' for a whole-number option: refused as not whole
        except ValueError:
            return text


def int_list(option: str, allowed: Range = NON_NEGATIVE_INT) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated whole numbers, each in ``allowed`` ('' gives ())."""

    def parse(text: str) -> tuple[int, ...]:
        out = []
        for piece in (p.strip() for p in text.split(",")):
            if not piece:
                continue
            try:
                value = int(piece)
            except ValueError:
                raise InvalidSettingError(
                    f"{option} must be comma-separated whole numbers, got {text!r} ({piece!r} is not one).",
                    hint=f"For example {option} 10,20,29.") from None
            out.append(check_number(f"each of {option}", value, allowed, hint=f"For example {option} 10,20,29."))
        return tuple(out)

    parse.__name__ = f"{option} value"
    return parse


def positive_float(option: str) -> Callable[[str], float]:
    """A number > 0 (a learning rate, a duration)."""
    return number(option, POSITIVE)


def non_negative_int(option: str) -> Callable[[str], float]:
    """A whole number >= 0 (patience)."""
    return number(option, NON_NEGATIVE_INT)


def count(option: str, low: int = 1, example: int | None = None) -> Callable[[str], float]:
    """A whole number >= ``low`` (clips, epochs, steps); ``example`` (e.g. the default) goes in the hint."""
    return number(option, Range(low=low, integer=True, example=str(example if example is not None else low)))


def seed(option: str = "--seed") -> Callable[[str], float]:
    return number(option, SEED)


__all__ = ["number", "int_list", "positive_float", "non_negative_int", "count", "seed",
           "FPS", "HOP", "SECONDS_FROM_ZERO", "SECONDS_POSITIVE", "WEIGHT", "PORT"]
