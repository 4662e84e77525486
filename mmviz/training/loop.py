"""``mmviz train``: AdamW, linear warm-up + cosine decay, early stopping on validation MAE.

Seeded and resumable: after every epoch the loop writes ``last/`` (weights, optimizer,
position) and, when validation MAE improves, the best checkpoint at the top of the output
folder. Running the same command again with ``resume=True`` continues where it stopped.
"""

from __future__ import annotations

import json
import math
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mmviz.data.dataset import LabelledClip, feature_stats
from mmviz.data.metrics import mmsa_metrics
from mmviz.errors import DatasetError
from mmviz.inference.batching import make_inputs, tokenize
from mmviz.training.modality_dropout import Relabel, with_dropout
from mmviz.training.pseudo_labels import STATE_FILE, start_labeller, usable_rows
from mmviz.training.state import load_optimizer, save_optimizer
from mmviz.training.strategies import StrategyTraining, strategy_config
from mmviz.training.targets import item_targets, stack_targets
from mmviz_models.backbone import load_backbone
from mmviz_models.auxiliary import with_auxiliary
from mmviz_models.checkpoint import load_checkpoint, save_checkpoint
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionModel, TextPrefix
from mmviz_models.losses import fusion_loss


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_frac: float = 0.1
    patience: int = 3
    seed: int = 0
    max_steps: int | None = None
    grad_clip: float = 1.0
    eval_batch_size: int = 32
    #: False keeps the fusion-token embeddings at their initial values, so the fusion tokens'
    #: states up to the first fusion block depend on the text alone and are computed once per
    #: transcript (``FusionModel.precompute_fusion``): each step then runs only the LM layers
    #: from the first block on, about half the work on a CPU. Blocks, encoder and heads train.
    train_fusion_tokens: bool = True
    #: Share of training clips shown with a random set of modalities removed and relabelled by
    #: ``train(relabel=...)`` (see ``mmviz.training.modality_dropout``); 0 = complete clips only.
    modality_dropout: float = 0.0
    #: "self-mm": the text/audio/visual heads learn Self-MM pseudo-labels generated during training
    #: (``mmviz.training.pseudo_labels``); "none": their targets as built by ``head_targets``.
    pseudo_labels: str = "none"
    #: with pseudo-labels, also overwrite real per-head targets (``head_targets="planted"``)
    pseudo_labels_replace: bool = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare_config(cfg: FusionConfig, train: list[LabelledClip]) -> FusionConfig:
    """Fill in feature names (from the data) and normalisation statistics (from the train split)."""
    first = train[0].features
    an = cfg.audio_features or (first.audio.names if first.audio is not None else ())
    vn = cfg.visual_features or (first.visual.names if first.visual is not None else ())
    am, asd = feature_stats(train, "audio", an)
    vm, vsd = feature_stats(train, "visual", vn)
    return cfg.replace(audio_features=tuple(an), visual_features=tuple(vn), audio_mean=am, audio_std=asd, visual_mean=vm, visual_std=vsd)


@torch.no_grad()
def evaluate(model: FusionModel, tokenizer, clips: list[LabelledClip], batch_size: int = 32,
             prefixes: "TextPrefixCache | None" = None) -> dict[str, dict[str, float]]:
    """MMSA metrics for the fused head and each unimodal head (``prefixes`` reuses cached text passes).

    Each head is scored against its own training target (``cfg.head_targets``): the clip label,
    or under "planted" its modality's valence (items without one are left out of that head).
    """
    model.eval()
    preds: dict[str, list[float]] = {"fused": [], "text": [], "audio": [], "visual": []}
    for s in range(0, len(clips), batch_size):
        chunk = clips[s : s + batch_size]
        x = make_inputs([c.features for c in chunk], tokenizer, model.cfg).to(next(model.parameters()).device)
        o = model(x, prefix=prefixes.batch([c.features.transcript for c in chunk]) if prefixes is not None else None)
        for k in preds:
            preds[k].extend(getattr(o, f"pred_{k}").float().cpu().tolist())
    targets = [item_targets(c, c.features, c.label, (), model.cfg.head_targets) for c in clips]
    out = {}
    for k, v in preds.items():
        # each head against what it is trained to predict (the label, or its modality's valence)
        t = np.array([getattr(it, k) for it in targets], dtype=float)
        ok = ~np.isnan(t)
        out[k] = mmsa_metrics(np.asarray(v)[ok], t[ok]) if ok.sum() >= 2 else {"MAE": float("nan")}
    return out


class TextPrefixCache:
    """The frozen LM reads each distinct transcript once per training run, not once per epoch.

    ``with_fusion_pre`` also keeps the fusion tokens' pre-block states (valid only while the
    fusion-token embeddings are not trained).
    """

    def __init__(self, model: FusionModel, tokenizer, with_fusion_pre: bool = False) -> None:
        self.model, self.tokenizer, self.cache = model, tokenizer, {}
        self.with_fusion_pre = with_fusion_pre

    @torch.no_grad()
    def batch(self, texts: list[str]) -> TextPrefix:
        todo = sorted({t for t in texts if t not in self.cache})
        dev = next(self.model.parameters()).device
        for s in range(0, len(todo), 32):
            chunk = todo[s : s + 32]
            for t in chunk:  # one at a time: no padding stored
                ids, mask = tokenize([t], self.tokenizer, self.model.cfg.max_text_tokens)
                prefix = self.model.encode_text(ids.to(dev), mask.to(dev))
                self.cache[t] = self.model.precompute_fusion(prefix) if self.with_fusion_pre else prefix
        return TextPrefix.stack([self.cache[t] for t in texts])


def _polarity_ids(tokenizer, cfg: FusionConfig) -> torch.Tensor:
    return torch.tensor([tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in cfg.polarity_words])


def train(
    cfg: FusionConfig,
    data: list[LabelledClip],
    out_dir: str | Path,
    settings: TrainSettings = TrainSettings(),
    *,
    resume: bool = False,
    device: str = "cpu",
    log: Callable[[str], None] = print,
    progress: bool = True,
    relabel: Relabel | None = None,
    teacher: str | Path | None = None,
) -> dict:
    """Train and write the best checkpoint to ``out_dir``; returns the training summary.

    ``relabel(clip, dropped)`` gives the target of a clip with modalities removed (needed for
    ``settings.modality_dropout``; validation always uses complete clips).
    ``teacher``: a uni-modal-ensemble checkpoint, for ``cfg.strategy == "umt"`` (see
    ``mmviz.training.strategies``).
    """
    out = Path(out_dir)
    tr = [c for c in data if c.split == "train"]
    va = [c for c in data if c.split == "valid"]
    if len(tr) < 2 or not va:
        raise DatasetError(f"Need at least 2 training and 1 validation clip (got {len(tr)} train, {len(va)} valid).")
    seed_everything(settings.seed)
    last = out / "last"
    if resume and (last / "train_state.json").exists():
        model, bb, _ = load_checkpoint(last, device=device)
        cfg = model.cfg
        state = json.loads((last / "train_state.json").read_text())
        log(f"resuming after epoch {state['epoch'] + 1} (step {state['step']})")
    else:
        cfg = strategy_config(prepare_config(cfg, tr))
        bb = load_backbone(cfg)
        torch.manual_seed(settings.seed)
        model = FusionModel(cfg, bb.lm).to(device)
        state = {"epoch": -1, "step": 0, "best_mae": math.inf, "bad_epochs": 0, "history": []}
    plan = StrategyTraining(cfg, teacher, device)  # strategy-specific steps (StrategyError on a bad combination)
    tok = bb.tokenizer
    params = [p for n, p in model.named_parameters() if p.requires_grad and (settings.train_fusion_tokens or n != "fusion_tokens")]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(tr) / settings.batch_size)
    total = settings.max_steps or steps_per_epoch * settings.epochs
    warm = max(1, int(settings.warmup_frac * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total - warm))))
    )
    if resume and (last / "optimizer.json").exists():
        load_optimizer(opt, last / "optimizer")
        with warnings.catch_warnings():  # replaying the schedule, not skipping an optimizer step
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(state["step"]):
                sched.step()
    pol = _polarity_ids(tok, cfg).to(device)
    prefixes = TextPrefixCache(model, tok, with_fusion_pre=not settings.train_fusion_tokens)
    labeller = start_labeller(settings.pseudo_labels, [c.label for c in tr], replace_all=settings.pseudo_labels_replace,
                              resume_from=last if resume else None)
    t0 = time.time()
    for epoch in range(state["epoch"] + 1, settings.epochs):
        if state["step"] >= total:
            break
        model.train()
        g = torch.Generator().manual_seed(settings.seed * 1000 + epoch)
        order = torch.randperm(len(tr), generator=g).tolist()
        drop_rng = random.Random(settings.seed * 1000 + epoch)  # per epoch: a resumed run repeats it
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress, leave=False)
        losses, aux_log = [], {}
        for b in bar:
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            batch = with_dropout([tr[i] for i in idx], settings.modality_dropout, relabel, drop_rng, cfg.head_targets)
            x = make_inputs([f for f, _ in batch], tok, cfg).to(device)
            y = stack_targets([t for _, t in batch], device)  # per-head targets, (B,) each
            o = model(x, prefix=prefixes.batch([f.transcript for f, _ in batch]))
            if labeller is not None:  # Self-MM pseudo-labels for the unimodal heads
                usable = usable_rows([f for f, _ in batch], [tr[i].features for i in idx], o)
                y = labeller.targets(idx, y, usable, cfg.head_targets == "planted")
            loss, parts = fusion_loss(o, y, cfg, pol)
            loss, parts = plan.add_loss(loss, parts, o, x, [f.transcript for f, _ in batch])  # umt: distillation
            loss, parts = with_auxiliary(model, o, loss, parts)  # InfoNCE / aligner terms when configured
            opt.zero_grad(set_to_none=True)
            loss.backward()
            plan.clip_grads(model, params, settings.grad_clip)  # per member for a UME
            opt.step()
            sched.step()
            if labeller is not None:
                labeller.observe(idx, o, usable, epoch)
            state["step"] += 1
            losses.append(float(loss.detach()))
            for k in ("mi", "mi_pairs", "align"):  # auxiliary terms, when configured: kept per epoch
                if k in parts:
                    aux_log.setdefault(k, []).append(parts[k])
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", fused=f"{parts['fused']:.3f}")
            if state["step"] >= total:
                break
        metrics = evaluate(model, tok, va, settings.eval_batch_size, prefixes)
        mae = metrics["fused"]["MAE"]
        improved = mae < state["best_mae"] - 1e-6
        state["history"].append({"epoch": epoch, "step": state["step"], "train_loss": float(np.mean(losses)), "valid": metrics}
                                | ({"train_aux": {k: float(np.mean(v)) for k, v in aux_log.items()}} if aux_log else {}))
        state["epoch"] = epoch
        if improved:
            state["best_mae"], state["bad_epochs"] = mae, 0
            h = save_checkpoint(model, out, meta={"train_settings": asdict(settings), "epoch": epoch, "valid": metrics})
            state["best_hash"] = h
        else:
            state["bad_epochs"] += 1
        save_checkpoint(model, last)
        save_optimizer(opt, last / "optimizer")
        if labeller is not None:
            labeller.save(last / STATE_FILE)
        (last / "train_state.json").write_text(json.dumps(state, indent=1))
        log(
            f"epoch {epoch + 1}: train loss {np.mean(losses):.3f}  valid MAE fused {mae:.3f} text {metrics['text']['MAE']:.3f} "
            f"audio {metrics['audio']['MAE']:.3f} visual {metrics['visual']['MAE']:.3f}{'  (best)' if improved else ''}"
        )
        if state["bad_epochs"] >= settings.patience:
            log(f"early stop: no improvement for {settings.patience} epochs")
            break
    state["best_hash"] = plan.finish(out, va, device, log) or state.get("best_hash")  # learned UME weights
    summary = {"best_valid_mae": state["best_mae"], "epochs_run": state["epoch"] + 1, "steps": state["step"],
               "seconds": time.time() - t0, "checkpoint_hash": state.get("best_hash"), "history": state["history"]}
    if labeller is not None:
        summary["pseudo_label_shift"] = labeller.summary()
    (out / "train_summary.json").write_text(json.dumps(summary, indent=1))
    return summary
