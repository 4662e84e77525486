"""What training does differently per fusion strategy (``FusionConfig.strategy``).

* ``late`` / ``early``: trained jointly, the fused loss on the fused score plus the unimodal
  heads' losses (the config's weights); no per-token or LM loss (no fusion tokens).
* ``ume`` (uni-modal ensemble): each member (text head; audio encoder + head; visual encoder
  + head) trained on its own loss only, with its gradient clipped on its own, so no member's
  step depends on another's (Du et al., ICML 2023: joint training lets a fast modality make
  the others lazy). With ``ume_weights="learned"`` the softmax weights of the members are
  fitted afterwards on the validation split and written into the best checkpoint.
* ``umt`` (uni-modal teacher): deep fusion plus ``loss.distill`` × a distillation term that
  pulls its unimodal heads toward a UME teacher's member predictions and its audio/visual
  embeddings toward the teacher members' embeddings.

The loop (``mmviz.training.loop``) calls :class:`StrategyTraining` at four points: config,
loss, gradient clipping, and after the last epoch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mmviz.data.dataset import LabelledClip
from mmviz.errors import CheckpointError, MmvizError
from mmviz.inference.batching import make_inputs, tokenize
from mmviz_models.checkpoint import META, load_checkpoint, read_config, save_checkpoint
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs, FusionModel, FusionOutput
from mmviz_models.strategies import MEMBERS, member_parameters, weighted_mean

#: loss weights each strategy fixes (the others keep the config's values)
STRATEGY_LOSS: dict[str, dict[str, float]] = {
    "late": {"token": 0.0, "lm": 0.0},
    "early": {"token": 0.0, "lm": 0.0},
    "ume": {"fused": 0.0, "text": 1.0, "audio": 1.0, "visual": 1.0, "token": 0.0, "lm": 0.0},
}
#: what must match between a UMT student and its teacher for the teacher to read the same inputs
TEACHER_MUST_MATCH: tuple[str, ...] = ("backbone", "audio_features", "visual_features", "av_dim", "text_read_layer",
                                       "max_text_tokens", "max_av_steps")


class StrategyError(MmvizError):
    """A fusion strategy was asked for with options that do not go together."""

    kind = "strategy"


def strategy_config(cfg: FusionConfig) -> FusionConfig:
    """``cfg`` with the loss weights its strategy fixes (see :data:`STRATEGY_LOSS`)."""
    import dataclasses

    fixed = STRATEGY_LOSS.get(cfg.strategy)
    return cfg if not fixed else cfg.replace(loss=dataclasses.replace(cfg.loss, **fixed))


def check_teacher_kind(path: str | Path) -> FusionConfig:
    """The teacher's config, after checking that ``path`` is a UME checkpoint (CheckpointError if not)."""
    tcfg = read_config(path)  # CheckpointError when it is no checkpoint
    if not (Path(path) / "model.safetensors").exists():
        raise CheckpointError(f"The teacher {path} has a config but no weights (model.safetensors).",
                              hint="Point --teacher to the output folder of a finished `mmviz train --strategy ume` run.")
    if tcfg.strategy != "ume":
        raise CheckpointError(f"The teacher {path} is a {tcfg.strategy!r} checkpoint; a uni-modal teacher must be a "
                              "uni-modal ensemble ('ume').",
                              hint="Train one first with `mmviz train --strategy ume --out TEACHER ...` and pass --teacher TEACHER.")
    return tcfg


def check_teacher(path: str | Path, cfg: FusionConfig) -> FusionConfig:
    """The teacher's config, after checking that it is a UME checkpoint reading ``cfg``'s inputs."""
    tcfg = check_teacher_kind(path)
    diff = [f"{k}: teacher {getattr(tcfg, k)!r} vs this model {getattr(cfg, k)!r}"
            for k in TEACHER_MUST_MATCH if getattr(tcfg, k) != getattr(cfg, k)]
    if diff:
        raise CheckpointError(f"The teacher {path} does not read the same inputs as the model being trained ("
                              + "; ".join(diff[:3]) + ").",
                              hint="Train the teacher on the same data with the same --backbone.")
    return tcfg


def distill_loss(student: FusionOutput, teacher: FusionOutput) -> tuple[torch.Tensor, dict[str, float]]:
    """Distance of the student's unimodal heads and embeddings from the teacher's members.

    ``pred``: mean over text/audio/visual of L1(student head, teacher member), both (B,).
    ``feat``: mean over audio/visual of the mean squared difference of the pooled embeddings,
    (B, A) each — the UMT term proper: the fused model's unimodal representation learns what a
    member trained alone learned. (The text embeddings are the same frozen LM's on both sides.)
    """
    pred = torch.stack([F.l1_loss(getattr(student, f"pred_{m}"), getattr(teacher, f"pred_{m}").detach()) for m in MEMBERS]).mean()
    feat = torch.stack([F.mse_loss(getattr(student, f"emb_{m}"), getattr(teacher, f"emb_{m}").detach())
                        for m in ("audio", "visual")]).mean()
    return pred + feat, {"distill_pred": float(pred.detach()), "distill_feat": float(feat.detach())}


class StrategyTraining:
    """The strategy-specific steps of one training run."""

    def __init__(self, cfg: FusionConfig, teacher: str | Path | None = None, device: str = "cpu") -> None:
        self.cfg = cfg
        self.teacher_path = None if teacher is None else str(teacher)
        self.teacher: FusionModel | None = None
        self._teacher_prefixes: dict[str, object] = {}
        if cfg.strategy == "umt" and teacher is None:
            raise StrategyError("The uni-modal-teacher strategy (umt) needs a teacher checkpoint.",
                                hint="Pass --teacher PATH, a checkpoint trained with `mmviz train --strategy ume`.")
        if teacher is not None and cfg.strategy != "umt":
            raise StrategyError(f"A teacher is only used by --strategy umt, not {cfg.strategy!r}.",
                                hint="Drop --teacher, or use --strategy umt.")
        if teacher is not None:
            check_teacher(teacher, cfg)
            self.teacher, bb, self.teacher_hash = load_checkpoint(teacher, device=device)
            self.teacher_tokenizer = bb.tokenizer
            for p in self.teacher.parameters():
                p.requires_grad_(False)

    # ---- loss
    @torch.no_grad()
    def teacher_output(self, x: FusionInputs, texts: list[str]) -> FusionOutput:
        """The teacher on a batch (its LM pass over each distinct transcript cached for the run)."""
        from mmviz_models.fusion import TextPrefix

        dev = x.input_ids.device
        for t in texts:
            if t not in self._teacher_prefixes:
                ids, mask = tokenize([t], self.teacher_tokenizer, self.teacher.cfg.max_text_tokens)
                self._teacher_prefixes[t] = self.teacher.encode_text(ids.to(dev), mask.to(dev))
        self.teacher.eval()
        return self.teacher(x, prefix=TextPrefix.stack([self._teacher_prefixes[t] for t in texts]))

    def add_loss(self, loss: torch.Tensor, parts: dict[str, float], out: FusionOutput, x: FusionInputs,
                 texts: list[str]) -> tuple[torch.Tensor, dict[str, float]]:
        """``loss`` plus the strategy's extra term (umt: the weighted distillation loss)."""
        if self.teacher is None or self.cfg.loss.distill <= 0:
            return loss, parts
        d, dparts = distill_loss(out, self.teacher_output(x, texts))
        return loss + self.cfg.loss.distill * d, {**parts, "distill": float(d.detach()), **dparts}

    # ---- gradients
    def clip_grads(self, model: FusionModel, params: list[torch.nn.Parameter], max_norm: float) -> None:
        """Clip gradients: per member for a UME (members stay independent), else all together."""
        if self.cfg.strategy != "ume":
            torch.nn.utils.clip_grad_norm_(params, max_norm)
            return
        for group in member_parameters(model).values():
            torch.nn.utils.clip_grad_norm_(group, max_norm)

    # ---- after training
    def finish(self, out_dir: str | Path, valid: list[LabelledClip], device: str, log: Callable[[str], None]) -> str | None:
        """Fit learned UME weights into the best checkpoint and record the strategy in its meta.

        Returns the best checkpoint's new hash when its weights changed, else None.
        """
        out = Path(out_dir)
        if not (out / "model.safetensors").exists():
            return None
        new_hash = None
        extra: dict = {"strategy": self.cfg.strategy}
        if self.teacher_path is not None:
            extra["teacher"] = {"path": self.teacher_path, "checkpoint_hash": self.teacher_hash}
        if self.cfg.strategy == "ume" and self.cfg.ume_weights == "learned":
            model, bb, _ = load_checkpoint(out, device=device)
            weights = fit_member_weights(model, bb.tokenizer, valid)
            extra["member_weights"] = dict(zip(MEMBERS, weights))
            meta = _read_meta(out)
            new_hash = save_checkpoint(model, out, meta={**meta, **extra})
            log("member weights fitted on the validation split: " + ", ".join(f"{m} {w:.3f}" for m, w in zip(MEMBERS, weights)))
        else:
            (out / META).write_text(json.dumps({**_read_meta(out), **extra}, indent=1, default=str))
        return new_hash


def _read_meta(out: Path) -> dict:
    p = out / META
    return json.loads(p.read_text()) if p.exists() else {}


@torch.no_grad()
def member_predictions(model: FusionModel, tokenizer, clips: list[LabelledClip], batch_size: int = 32
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) member predictions and (n, 3) presence flags (text, audio, visual) of ``clips``."""
    model.eval()
    dev = next(model.parameters()).device
    preds, present = [], []
    for s in range(0, len(clips), batch_size):
        chunk = clips[s : s + batch_size]
        x = make_inputs([c.features for c in chunk], tokenizer, model.cfg).to(dev)
        o = model(x)
        preds.append(torch.stack([o.pred_text, o.pred_audio, o.pred_visual], -1).float().cpu())
        present.append(torch.stack([x.text_mask.any(1), x.audio_mask.any(1), x.visual_mask.any(1)], -1).float().cpu())
    return torch.cat(preds).numpy(), torch.cat(present).numpy()


def fit_member_weights(model: FusionModel, tokenizer, valid: list[LabelledClip], steps: int = 300, lr: float = 0.05
                       ) -> tuple[float, float, float]:
    """Fit the UME's softmax member weights on ``valid`` (L1 of the weighted mean to the label).

    Why after the members and on the validation split: the members are trained alone (the
    point of a UME); only how much to trust each is learned jointly, from clips the members
    did not train on. Writes the logits into the model and returns the (3,) weights.
    """
    sf = model.strategy_fusion
    if sf is None or getattr(sf, "member_logits", None) is None:
        raise StrategyError("Member weights are fitted only for a uni-modal ensemble with ume_weights='learned'.")
    preds, present = member_predictions(model, tokenizer, valid)
    p, m = torch.tensor(preds), torch.tensor(present)
    y = torch.tensor([c.label for c in valid], dtype=torch.float32)
    logits = torch.zeros(len(MEMBERS), requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        loss = (weighted_mean(p, m, logits.softmax(-1)) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        sf.member_logits.copy_(logits.detach().to(sf.member_logits.device))
    return tuple(float(w) for w in logits.detach().softmax(-1))
