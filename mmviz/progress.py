"""The one progress protocol: ``progress(stage, fraction)``.

Every long-running library function takes an optional ``progress`` callable and calls it with a
short text saying what it is doing now and the fraction done in [0, 1]. The dashboard turns
that into a progress bar, the CLI into a terminal bar (:func:`terminal_bar`), tests into a list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, fraction: float) -> None: ...


def report(progress: Progress | None, stage: str, fraction: float) -> None:
    """Call ``progress`` if there is one, with the fraction clamped to [0, 1]."""
    if progress is not None:
        progress(stage, min(max(float(fraction), 0.0), 1.0))


def scaled(progress: Progress | None, start: float, end: float, prefix: str = "") -> Progress | None:
    """A Progress for a sub-task that fills ``[start, end]`` of the outer one."""
    if progress is None:
        return None
    return lambda stage, f: progress(f"{prefix}{stage}", start + (end - start) * min(max(f, 0.0), 1.0))


def terminal_bar(desc: str, unit: str = "%") -> tuple[Progress, Callable[[], None]]:
    """A tqdm bar driven by the protocol (for commands); returns (progress, close)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=100, desc=desc, unit=unit, bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def progress(stage: str, fraction: float) -> None:
        bar.n = round(100 * min(max(fraction, 0.0), 1.0))
        bar.set_postfix_str(stage[:40], refresh=False)
        bar.refresh()

    return progress, bar.close
