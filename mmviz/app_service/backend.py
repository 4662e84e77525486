"""Where the dashboard gets its model, features and explanations — the one place to switch.

``MMVIZ_CHECKPOINT`` picks the model: unset → the shipped ``models/default`` (or the tiny test
model while that checkpoint is not there yet), ``tiny`` / ``tiny:<seed>`` → the tiny test model,
anything else → a checkpoint folder. Features come from ``mmviz.features.extract`` and
explanations from ``mmviz.explain`` when those packages are installed; until then the
placeholders below keep the app usable and say so in the page.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from mmviz.errors import MmvizError
from mmviz.features.record import ClipFeatures, MediaInfo
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
        from mmviz.testing.tiny import tiny_runner

        seed = int(spec.split(":", 1)[1]) if ":" in spec else 0
        if has_extractor():  # read what the real extractor writes
            from mmviz.features.audio import AUDIO_FEATURE_NAMES
            from mmviz.features.visual import VISUAL_FEATURE_NAMES
            from mmviz.testing.tiny import tiny_config

            return tiny_runner(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES), seed=seed)
        return tiny_runner(seed=seed)
    return ModelRunner.from_checkpoint(None if spec == "default" else spec)


def has_extractor() -> bool:
    return importlib.util.find_spec("mmviz.features.extract") is not None


def has_explainer() -> bool:
    return importlib.util.find_spec("mmviz.explain") is not None


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract(path: Path, *, transcript: str | None, sidecar: Path | None, filename: str, progress: Progress | None) -> ClipFeatures:
    """Features of one media file; bad input raises an MmvizError with a message for the user."""
    if has_extractor():
        from mmviz.features.extract import extract_features

        return extract_features(path, transcript=transcript or None, sidecar=sidecar, asr=False, filename=filename, progress=progress)
    return placeholder_features(path, transcript=transcript, sidecar=sidecar, filename=filename, progress=progress)


def placeholder_features(path: Path, *, transcript: str | None, sidecar: Path | None, filename: str,
                         progress: Progress | None = None, names: tuple | None = None) -> ClipFeatures:
    """Stand-in features (random, seeded by the file's hash) on the file's real duration."""
    import av

    from mmviz.testing.tiny import synthetic_clip

    if progress:
        progress("decode", 0.1)
    try:
        with av.open(str(path)) as c:
            has_v, has_a = bool(c.streams.video), bool(c.streams.audio)
            dur = float(c.duration / 1e6) if c.duration else None
            if dur is None and has_v:
                s = c.streams.video[0]
                dur = float(s.duration * s.time_base) if s.duration else None
            if not (has_v or has_a):
                raise MmvizError(f"{filename} has no audio or video stream.", hint="Upload a video or audio clip.")
    except MmvizError:
        raise
    except Exception as e:  # PyAV raises many kinds; the user only needs to know it could not be read
        raise MmvizError(f"Could not read {filename}: it is not a media file this app can decode ({type(e).__name__}).",
                         hint="Upload an mp4, mov, webm, wav or mp3 file.") from None
    if transcript is None and sidecar is not None and sidecar.exists():
        transcript = sidecar.read_text(errors="replace").strip()
    h = file_hash(path)
    clip = synthetic_clip(int(h[:8], 16) % (2**31), duration=max(0.5, dur or 3.0), text=transcript or "", audio=has_a, visual=has_v,
                          **({"audio_names": names[0], "visual_names": names[1]} if names else {}))
    import dataclasses

    if progress:
        progress("features", 1.0)
    media = MediaInfo(filename, path.suffix.lstrip(".") or "?", dur, clip.duration, has_v, has_a,
                      warnings=("placeholder features: the feature extractor is not installed yet",))
    return dataclasses.replace(clip, clip_id=Path(filename).stem, content_hash=h, media=media,
                               transcript_source=("typed" if transcript else "none"))
