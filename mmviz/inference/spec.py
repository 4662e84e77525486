"""A recipe for a :class:`ModelRunner` that can travel: checkpoint + device + compile.

Batch scoring builds its runner from this in every Ray actor (a loaded model never crosses
the network; a few strings do), and ``mmviz score`` builds its local runner from the same
recipe, so both engines load exactly the same model.

``checkpoint``: a checkpoint folder; None = the shipped default model; ``"tiny"`` or
``"tiny:<seed>"`` = the tiny random test model with the real feature names (as the dashboard's
``MMVIZ_CHECKPOINT=tiny``), for quick runs and tests. A folder that exists wins over the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmviz.errors import CheckpointError


@dataclass(frozen=True)
class RunnerSpec:
    """How to build the model runner (picklable, hashable)."""

    checkpoint: str | None = None
    device: str = "auto"
    compile: bool = False

    @property
    def tiny_seed(self) -> int | None:
        """The seed when this names the tiny test model, else None."""
        c = self.checkpoint
        if not c or not (c == "tiny" or c.startswith("tiny:")) or Path(c).exists():
            return None
        try:
            return int(c.split(":", 1)[1]) if ":" in c else 0
        except ValueError:
            raise CheckpointError(f"{c!r} is neither a checkpoint folder nor tiny:<seed>.",
                                  hint="Use tiny, tiny:1, ... or the path of a folder written by `mmviz train`.") from None

    def checkpoint_hash(self) -> str:
        """The hash the runner will report, computed without loading the model (and checking
        the folder holds weights, so a wrong path fails before any worker starts)."""
        if self.tiny_seed is not None:
            return f"tiny-seed{self.tiny_seed}"
        from mmviz.inference.runner import DEFAULT_CHECKPOINT
        from mmviz_models.checkpoint import WEIGHTS, checkpoint_hash

        w = Path(self.checkpoint or DEFAULT_CHECKPOINT) / WEIGHTS
        if not w.exists():
            raise CheckpointError(f"No {WEIGHTS} in {w.parent}.", hint="Point to a folder written by `mmviz train`.")
        return checkpoint_hash(w.parent)

    def build(self):
        """Load the runner (one model in memory, on ``device``)."""
        from mmviz.inference.device import check_compile, resolve_device
        from mmviz.inference.runner import ModelRunner

        seed = self.tiny_seed
        if seed is None:
            return ModelRunner.from_checkpoint(self.checkpoint, self.device, compile=self.compile)
        from mmviz.features.audio import AUDIO_FEATURE_NAMES
        from mmviz.features.visual import VISUAL_FEATURE_NAMES
        from mmviz.inference.tiny import tiny_config, tiny_model

        dev = resolve_device(self.device)
        check_compile(dev, self.compile)
        model, tok = tiny_model(tiny_config(audio_features=AUDIO_FEATURE_NAMES, visual_features=VISUAL_FEATURE_NAMES), seed)
        return ModelRunner(model.to(dev), tok, f"tiny-seed{seed}", model.cfg.backbone, dev, compile=self.compile)
