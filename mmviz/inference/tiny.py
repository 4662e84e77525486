"""A tiny fusion model (2 LM layers, width 32) and synthetic ClipFeatures with known structure.

A product piece, not only a test fixture: the dashboard serves it as the "tiny" checkpoint
(a server without the default model still starts, and says so) and warms itself up on a
synthetic clip. The fast test suite uses the same builders (through ``mmviz.testing.tiny``),
so every test gets the same model from the same seed in well under a second.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from mmviz.records.features import ClipFeatures, MediaInfo, TimedMatrix, Word
from mmviz.inference.runner import ModelRunner
from mmviz_models.backbone import load_backbone
from mmviz_models.config import TINY_BACKBONE, FusionConfig
from mmviz_models.fusion import FusionModel

AUDIO_NAMES = ("pitch_hz", "rms_db", "spectral_centroid", "speaking")
VISUAL_NAMES = ("face_present", "face_size", "smile", "brightness", "motion")


def tiny_config(**changes) -> FusionConfig:
    cfg = FusionConfig(
        backbone=TINY_BACKBONE,
        n_fusion_tokens=4,
        cross_heads=2,
        av_dim=16,
        av_layers=1,
        av_heads=2,
        head_hidden=16,
        dropout=0.0,
        audio_features=AUDIO_NAMES,
        visual_features=VISUAL_NAMES,
    )
    return cfg.replace(**changes) if changes else cfg


def tiny_model(cfg: FusionConfig | None = None, seed: int = 0) -> tuple[FusionModel, object]:
    cfg = cfg or tiny_config()
    bb = load_backbone(cfg)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = FusionModel(cfg, bb.lm).eval()
    return model, bb.tokenizer


def tiny_runner(cfg: FusionConfig | None = None, seed: int = 0) -> ModelRunner:
    model, tok = tiny_model(cfg, seed)
    return ModelRunner(model, tok, checkpoint_hash=f"tiny-seed{seed}", backbone_name=model.cfg.backbone, device=torch.device("cpu"))


def synthetic_clip(
    seed: int = 0,
    *,
    duration: float = 3.0,
    text: str = "this movie was really good",
    audio: bool = True,
    visual: bool = True,
    hop: float = 0.1,
    fps: float = 10.0,
    audio_names: tuple[str, ...] = AUDIO_NAMES,
    visual_names: tuple[str, ...] = VISUAL_NAMES,
) -> ClipFeatures:
    """Random but reproducible features on a real timeline, with evenly spread words."""
    rng = np.random.default_rng(seed)
    ta = np.arange(int(round(duration / hop))) * hop + hop / 2
    tv = np.arange(int(round(duration * fps))) / fps
    am = TimedMatrix(rng.normal(size=(len(ta), len(audio_names))).astype(np.float32), audio_names, ta, hop) if audio else None
    vm = TimedMatrix(rng.normal(size=(len(tv), len(visual_names))).astype(np.float32), visual_names, tv, 1 / fps) if visual else None
    words = text.split()
    span = duration / max(1, len(words))
    ws = tuple(Word(w, i * span, (i + 1) * span, estimated=True) for i, w in enumerate(words))
    h = hashlib.sha256(f"synthetic:{seed}:{duration}:{text}:{audio}:{visual}".encode()).hexdigest()
    media = MediaInfo(f"synthetic_{seed}.mp4", "synthetic", duration, duration, visual, audio)
    return ClipFeatures(f"synthetic_{seed}", h, am, vm, ws, "typed" if words else "none", media, {"hop": hop, "fps": fps})


def clip_for(runner: ModelRunner, seed: int = 0, **kw) -> ClipFeatures:
    """A :func:`synthetic_clip` carrying exactly the feature names ``runner``'s model reads."""
    cfg = runner.cfg
    return synthetic_clip(seed, audio_names=tuple(cfg.audio_features), visual_names=tuple(cfg.visual_features), **kw)
