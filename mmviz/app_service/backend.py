"""Where the dashboard gets its model and features — the one place to switch.

``MMVIZ_CHECKPOINT`` picks the model: unset → the shipped ``models/default`` (or the tiny
random model, with a warning in the page, if that checkpoint is missing from the install),
``tiny`` / ``tiny:<seed>`` → the tiny test model, anything else → a checkpoint folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mmviz.features.record import ClipFeatures
from mmviz.inference.runner import DEFAULT_CHECKPOINT, ModelRunner

Progress = Callable[[str, float], None]


def cache_dir() -> Path:
    return Path(os.environ.get("MMVIZ_CACHE", Path.home() / ".cache" / "mmviz"))


def default_spec() -> str:
    spec = os.environ.get("MMVIZ_CHECKPOINT", "").strip()
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
    """A runner for a checkpoint spec ("default", "tiny", "tiny:<seed>" or a folder)."""
    if spec.startswith("tiny"):
        from mmviz.features.audio import AUDIO_FEATURE_NAMES
        from mmviz.features.visual import VISUAL_FEATURE_NAMES
        from mmviz.testing.tiny import tiny_config, tiny_runner

        seed = int(spec.split(":", 1)[1]) if ":" in spec else 0
        return tiny_runner(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES), seed=seed)
    return ModelRunner.from_checkpoint(None if spec == "default" else spec)


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes: the cache key of everything computed about it."""
    from mmviz.data.scoring import file_sha256

    return file_sha256(path)


def extract(path: Path, *, transcript: str | None, sidecar: Path | None, filename: str, progress: Progress | None,
            asr: bool = False) -> ClipFeatures:
    """Features of one media file; bad input raises an MmvizError with a message for the user.

    ``asr``: recognise speech offline (pocketsphinx) when neither a transcript nor a sidecar is given.
    """
    from mmviz.features.extract import extract_features

    return extract_features(path, transcript=transcript or None, sidecar=sidecar, asr=asr, filename=filename, progress=progress)
