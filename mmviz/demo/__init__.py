"""The demo corpus: clips with planted cues whose right answer is known.

Modules, one job each: ``text`` (template sentences with known valence), ``real_text``
(human-rated sentences from shared/), ``voice`` (espeak-ng prosody from a vocal valence),
``face`` (an animated real face from a facial valence), ``label`` (the label rule),
``plan`` (scenario mix per seed), ``clip`` (render one clip), ``corpus`` (write a corpus).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: Seed of the committed demo set in ``mmviz/demo/clips`` (see its README.md).
DEMO_SEED = 2024
DEMO_N = 48


def default_demo_dir() -> Path:
    """The folder of demo clips the dashboard opens: ``MMVIZ_DEMO_DIR`` if set (any folder with
    clips and a ``metadata.csv``), else the committed set shipped with mmviz."""
    from mmviz.settings import get_settings

    return get_settings().demo_dir or Path(str(files(__name__))) / "clips"


__all__ = ["DEMO_SEED", "DEMO_N", "default_demo_dir"]
