"""Where the dashboard gets its model and features — the one place to switch.

``MMVIZ_CHECKPOINT`` picks the model: unset → the shipped ``models/default`` (or the tiny
random model, with a warning in the page, if that checkpoint is missing from the install),
``tiny`` / ``tiny:<seed>`` → the tiny test model, anything else → a checkpoint folder.
"""

from __future__ import annotations

from pathlib import Path

from mmviz.inference.runner import DEFAULT_CHECKPOINT, ModelRunner
from mmviz.settings import get_settings


def cache_dir() -> Path:
    """The folder the dashboard keeps uploads, the results store and notes in."""
    return get_settings().app_cache


def default_spec() -> str:
    spec = get_settings().checkpoint
    if spec:
        return spec
    return "default" if (DEFAULT_CHECKPOINT / "config.json").exists() or any(DEFAULT_CHECKPOINT.glob("*.safetensors")) else "tiny"


def available_specs() -> list[str]:
    specs = [default_spec()]
    for s in ("default", "tiny", "tiny:1"):
        if s == "default" and specs[0] != "default" and not any(DEFAULT_CHECKPOINT.glob("*.safetensors")):
            continue
        if s not in specs:
            specs.append(s)
    return specs


def load_runner(spec: str) -> ModelRunner:
    """A runner for a checkpoint spec ("default", "tiny", "tiny:<seed>" or a folder), on ``Settings.device``."""
    from mmviz.inference.spec import RunnerSpec

    return RunnerSpec(None if spec == "default" else spec, get_settings().device).build()
