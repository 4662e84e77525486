"""Checkpoints: safetensors holding only the trained parameters + a JSON config.

No pickle anywhere: a checkpoint from a stranger can at worst fail to load. Loading checks
every name and shape against the model the config builds and refuses a mismatch with a
message that says exactly what differs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mmviz.errors import CheckpointError

from .backbone import load_backbone
from .config import FusionConfig
from .fusion import FusionModel

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
META = "meta.json"


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def checkpoint_hash(ckpt_dir: str | Path) -> str:
    """Hash of what a checkpoint computes: its weights *and* its config.json.

    Why both: the config holds the input normalisation statistics, so two folders with the
    same weights but other statistics predict differently and must not share cached results.
    """
    d = Path(ckpt_dir)
    parts = [file_hash(d / WEIGHTS)] + ([file_hash(d / CONFIG)] if (d / CONFIG).exists() else [])
    return parts[0] if len(parts) == 1 else hashlib.sha256("+".join(parts).encode()).hexdigest()[:16]


def _stored(state: dict[str, torch.Tensor], half: bool) -> dict[str, torch.Tensor]:
    """Tensors as written: float16 when ``half`` (refused if a value does not fit float16)."""
    if not half:
        return state
    # distance statistics stay float32: a whitening of a tight embedding cloud needs the precision
    out = {k: v.half() if v.is_floating_point() and not k.startswith("distance.") else v for k, v in state.items()}
    bad = [k for k, v in out.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{len(bad)} tensor(s) do not fit float16 (e.g. {bad[:3]}): values beyond +-65504 or not finite.",
                              hint="Save this checkpoint in full precision (without half).")
    return out


def save_checkpoint(model: FusionModel, out_dir: str | Path, meta: dict[str, Any] | None = None, *, half: bool = False) -> str:
    """Write weights + config (+ free-form meta); returns the checkpoint hash.

    ``half`` stores the trained parameters as float16: half the file (the shipped default model:
    53.1 → 26.6 MB) for a prediction change far below anything shown (its fused prediction on
    the 48 demo clips moved by at most 1.2e-3, mean 1.7e-4, on a -3..3 scale). They are loaded
    back as float32, so computation is unchanged.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = _stored({k: v.detach().cpu().contiguous() for k, v in model.trainable_state_dict().items()}, half)
    save_file(state, out / WEIGHTS, metadata={"format": "pt", "mmviz": "fusion-checkpoint"})
    (out / CONFIG).write_text(model.cfg.to_json())
    if meta is not None:
        (out / META).write_text(json.dumps(meta, indent=1, default=str))
    return checkpoint_hash(out)


def halve_checkpoint(ckpt_dir: str | Path) -> str:
    """Rewrite a checkpoint's weights as float16 in place (config and meta untouched); returns
    the new checkpoint hash. Used by ``mmviz build-default`` before it evaluates the model, so
    the model card scores (and names) the weights that ship."""
    wpath = Path(ckpt_dir) / WEIGHTS
    try:
        state = load_file(wpath)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{wpath} is not a readable safetensors file ({e}).") from e
    save_file(_stored(state, True), wpath, metadata={"format": "pt", "mmviz": "fusion-checkpoint"})
    return checkpoint_hash(wpath.parent)


def read_config(ckpt_dir: str | Path) -> FusionConfig:
    p = Path(ckpt_dir) / CONFIG
    if not p.exists():
        raise CheckpointError(f"{Path(ckpt_dir)} is not an mmviz checkpoint: it has no {CONFIG}.",
                              hint="Point to a folder written by `mmviz train`.")
    try:
        return FusionConfig.from_dict(json.loads(p.read_text()))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"The checkpoint config {p} is not valid: {e}.") from e


def check_state(model: FusionModel, state: dict[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming every missing, unexpected or mis-shaped tensor."""
    expected = {k: tuple(v.shape) for k, v in model.trainable_state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    shapes = [f"{k}: checkpoint {got[k]} vs model {expected[k]}" for k in sorted(set(expected) & set(got)) if got[k] != expected[k]]
    if missing or extra or shapes:
        parts = []
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es), e.g. " + "; ".join(shapes[:3]))
        if missing:
            parts.append(f"{len(missing)} missing tensor(s), e.g. {missing[:3]}")
        if extra:
            parts.append(f"{len(extra)} unexpected tensor(s), e.g. {extra[:3]}")
        raise CheckpointError(
            "This checkpoint does not fit the model its config describes: " + "; ".join(parts) + ".",
            hint="It was probably written for another backbone or feature set; use the config.json saved with it.",
        )


def load_checkpoint(ckpt_dir: str | Path, *, device: str | torch.device = "cpu", config: FusionConfig | None = None):
    """Build the model from the checkpoint's config (or ``config``) and load its weights.

    Returns ``(model, backbone, checkpoint_hash)``; the model is in eval mode.
    """
    d = Path(ckpt_dir)
    wpath = d / WEIGHTS
    if not wpath.exists():
        raise CheckpointError(f"No {WEIGHTS} in {d}.", hint="Point to a folder written by `mmviz train`.")
    cfg = config or read_config(d)
    try:
        state = load_file(wpath)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{wpath} is not a readable safetensors file ({e}).") from e
    state = {k: v.float() if v.dtype == torch.float16 else v for k, v in state.items()}  # half-stored → float32
    backbone = load_backbone(cfg)
    model = FusionModel(cfg, backbone.lm)
    check_state(model, state)
    model.load_state_dict(state, strict=False)
    model.to(device).eval()
    return model, backbone, checkpoint_hash(d)
