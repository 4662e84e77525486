"""The tiny model and synthetic clips for tests (they live in :mod:`mmviz.inference.tiny`)."""

from mmviz.inference.tiny import AUDIO_NAMES, VISUAL_NAMES, clip_for, synthetic_clip, tiny_config, tiny_model, tiny_runner

__all__ = ["AUDIO_NAMES", "VISUAL_NAMES", "clip_for", "synthetic_clip", "tiny_config", "tiny_model", "tiny_runner"]
