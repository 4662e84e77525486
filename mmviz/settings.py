"""Everything mmviz reads from the environment, in one typed object.

Why one place: the cache folder, the model a server shows and the demo folder used to be read
from ``MMVIZ_*`` variables in five modules, which could disagree within one process. Code
asks :func:`get_settings` (read afresh each call, so tests may change the environment).

| variable | field | default |
|---|---|---|
| ``MMVIZ_CACHE`` | ``cache`` | ``~/.cache/mmviz`` |
| ``MMVIZ_APP_CACHE`` | ``app_cache`` | ``cache`` (tests point one server elsewhere) |
| ``MMVIZ_CHECKPOINT`` | ``checkpoint`` | ``""``: the shipped default model |
| ``MMVIZ_DEMO_DIR`` | ``demo_dir`` | ``None``: the demo clips installed with mmviz |
| ``MMVIZ_CACHE_LIMIT_GB`` | ``cache_limit_gb`` | ``20``: size limit of the results cache |
| ``MMVIZ_DEVICE`` | ``device`` | ``auto``: CUDA when present (``mmviz app --device`` sets it) |

(The model package ``mmviz_models`` reads ``MMVIZ_CACHE`` itself for its de-quantised LM,
because it sits below mmviz and cannot import it.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    cache: Path
    app_cache: Path
    checkpoint: str
    demo_dir: Path | None
    cache_limit_gb: float = 20.0
    device: str = "auto"

    @property
    def results_dir(self) -> Path:
        """The one results store (features, inspections, explanations, dataset tables)."""
        return self.app_cache / "results"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        cache = Path(env.get("MMVIZ_CACHE") or Path.home() / ".cache" / "mmviz").expanduser()
        app_cache = Path(env.get("MMVIZ_APP_CACHE") or cache).expanduser()
        demo = (env.get("MMVIZ_DEMO_DIR") or "").strip()
        try:
            limit = float(env.get("MMVIZ_CACHE_LIMIT_GB") or 20.0)
        except ValueError:
            limit = 20.0
        return cls(cache=cache, app_cache=app_cache, checkpoint=(env.get("MMVIZ_CHECKPOINT") or "").strip(),
                   demo_dir=Path(demo).expanduser() if demo else None, cache_limit_gb=limit,
                   device=(env.get("MMVIZ_DEVICE") or "auto").strip())


def get_settings() -> Settings:
    """The settings of this process, read from the environment now."""
    return Settings.from_env()
