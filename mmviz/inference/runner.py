"""Load a checkpoint once and run it safely from many callers.

The dashboard and the CLI share one :class:`ModelRunner`: it owns the model, a lock (one
forward at a time on a shared server), the device choice, and batching. Everything it
returns is an :class:`Inspection` record or plain tensors for the explainers.

Device and precision come from :mod:`mmviz.inference.device`: on the CPU the model runs
eagerly in float32 (as it always has); on CUDA in bf16 autocast, optionally compiled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

import mmviz
from mmviz.records.features import ClipFeatures
from mmviz.inference.batching import make_inputs
from mmviz.inference.device import accelerate, check_compile, precision_label, resolve_device
from mmviz.inference.record import Inspection, Predictions
from mmviz.progress import Progress, report
from mmviz_models.checkpoint import load_checkpoint
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs, FusionModel, FusionOutput

DEFAULT_CHECKPOINT = Path(str(files("mmviz_models"))) / "default"  # installed with the package


def pick_device(device: str | None = None) -> torch.device:
    """The torch device for "auto", "cpu", "cuda" or "cuda:N" (CUDA refused when absent)."""
    return resolve_device(device)


class ModelRunner:
    """A loaded fusion model + tokenizer + provenance, safe to share between threads."""

    def __init__(self, model: FusionModel, tokenizer, checkpoint_hash: str, backbone_name: str, device: torch.device,
                 *, compile: bool = False):
        """``model`` must already be on ``device``; on CUDA it is set up for bf16 autocast (and
        its forward compiled when ``compile``), see :func:`mmviz.inference.device.accelerate`."""
        self.model = model.eval()
        self._call = accelerate(self.model, device, compile=compile)  # the model, or torch.compile(model)
        self.tokenizer = tokenizer
        self.checkpoint_hash = checkpoint_hash
        self.backbone_name = backbone_name
        self.device = device
        self.compiled = bool(compile)
        self.lock = threading.RLock()

    @property
    def cfg(self) -> FusionConfig:
        return self.model.cfg

    @classmethod
    def from_checkpoint(cls, ckpt_dir: str | Path | None = None, device: str | None = None, *,
                        compile: bool = False) -> "ModelRunner":
        """Load a checkpoint folder (default: the shipped model) onto ``device`` ("auto", "cpu",
        "cuda", "cuda:N"); raises :class:`~mmviz.inference.device.DeviceError` for absent CUDA."""
        dev = resolve_device(device)
        check_compile(dev, compile)
        model, backbone, h = load_checkpoint(ckpt_dir or DEFAULT_CHECKPOINT, device=dev)
        return cls(model, backbone.tokenizer, h, backbone.name, dev, compile=compile)

    @property
    def precision(self) -> str:
        """Device + precision as records show it ("cpu", "cuda:0 bf16-autocast +compile")."""
        return precision_label(self.device, self.compiled)

    # ---- what the model reads of a clip
    def count_tokens(self, text: str) -> int:
        """How many LM tokens ``text`` is, untruncated (the model reads at most ``cfg.max_text_tokens``)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text.strip() else 0

    def truncation_note(self, clip: ClipFeatures) -> str | None:
        """What the model does not read of ``clip`` (see :func:`truncation_note`); None when it reads all of it."""
        return truncation_note(clip, self.cfg, self.count_tokens(clip.transcript))

    # ---- tensors in, tensors out (explainers use these)
    def inputs(self, clips: Sequence[ClipFeatures], texts: Sequence[str] | None = None) -> FusionInputs:
        return make_inputs(clips, self.tokenizer, self.cfg, texts=texts).to(self.device)

    def forward(self, x: FusionInputs, *, collect: bool = False, grad: bool = False) -> FusionOutput:
        with self.lock, torch.set_grad_enabled(grad):
            return self._call(x.to(self.device), collect=collect)

    # ---- records
    def inspect(
        self,
        clips: Sequence[ClipFeatures],
        *,
        batch_size: int = 8,
        labels: Sequence[float | None] | None = None,
        progress: Progress | None = None,
    ) -> list[Inspection]:
        """One Inspection per clip, computed in batches; ``progress(stage, fraction)`` after each batch."""
        out: list[Inspection] = []
        notes = [self.truncation_note(c) for c in clips]
        for start in range(0, len(clips), batch_size):
            chunk = clips[start : start + batch_size]
            t0 = time.perf_counter()
            x = self.inputs(chunk)
            t1 = time.perf_counter()
            o = self.forward(x, collect=True)
            t2 = time.perf_counter()
            for i, clip in enumerate(chunk):
                lab = labels[start + i] if labels is not None else None
                out.append(self._record(clip, x, o, i, {"batch_s": t1 - t0, "forward_s": t2 - t1, "batch_size": len(chunk)}, lab,
                                        notes[start + i]))
            done = min(start + batch_size, len(clips))
            report(progress, f"{done}/{len(clips)} clips", done / max(len(clips), 1))
        return out

    def _record(self, clip: ClipFeatures, x: FusionInputs, o: FusionOutput, i: int, timings: dict, label,
                note: str | None = None) -> Inspection:
        kmask = o.key_mask[i].cpu().numpy()  # (K,)
        if o.cross_attention:
            att = torch.stack(o.cross_attention)[:, i].float().cpu().numpy()[..., kmask]  # (n_blocks, H, N, K_valid)
        else:  # a strategy without fusion tokens (late, early, ume): no blocks, no heads, no tokens
            att = np.zeros((0, 0, 0, int(kmask.sum())), dtype=np.float32)  # (0, 0, 0, K_valid)
        tmask = x.text_mask[i].cpu().numpy()
        ids = x.input_ids[i].cpu().numpy()[tmask]
        f = lambda t: float(t[i].detach().cpu())  # noqa: E731
        present = {"text": bool(tmask.any()), "audio": bool(x.audio_mask[i].any()), "visual": bool(x.visual_mask[i].any())}
        dist, raw = {}, {}
        if o.distance is not None:
            for j, b in enumerate(("text", "audio", "visual")):
                if present[b] and np.isfinite(float(o.distance[i, j])):
                    dist[b], raw[b] = float(o.distance[i, j]), float(o.pred_unshrunk[i, j])
        return Inspection(
            clip_id=clip.clip_id,
            content_hash=clip.content_hash,
            checkpoint_hash=self.checkpoint_hash,
            backbone=self.backbone_name,
            predictions=Predictions(
                fused=f(o.pred_fused), text=f(o.pred_text), audio=f(o.pred_audio), visual=f(o.pred_visual),
                tokens=o.pred_tokens[i].detach().float().cpu().numpy(),
            ),
            cross_attention=att.astype(np.float32),
            key_modality=o.key_modality[i].cpu().numpy()[kmask].astype(np.int8),
            key_times=o.key_times[i].double().cpu().numpy()[kmask],
            block_layers=tuple(int(j) for j in self.model.fusion_layer_ids),
            gates=o.gates.detach().float().cpu().numpy(),
            token_states=o.token_states[i].detach().float().cpu().numpy(),
            embeddings={k: getattr(o, f"emb_{k}")[i].detach().float().cpu().numpy() for k in ("text", "audio", "visual", "fused")},
            text_tokens=tuple(self.tokenizer.decode([t]) for t in ids.tolist()),
            input_sizes={
                "n_text_tokens": int(tmask.sum()),
                "n_audio_steps": int(x.audio_mask[i].sum()),
                "n_visual_steps": int(x.visual_mask[i].sum()),
                "n_keys": int(kmask.sum()),
            },
            device=self.precision,
            timings=timings,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            mmviz_version=mmviz.__version__,
            label=None if label is None else float(label),
            notes=tuple(n for n in (note, distance_note(dist, raw, {"text": f(o.pred_text), "audio": f(o.pred_audio),
                                                                         "visual": f(o.pred_visual)})) if n),
            block_updates=None if o.block_updates is None else o.block_updates[i].detach().float().cpu().numpy(),
            distance=dist,
            unshrunk=raw,
            strategy=self.cfg.strategy,
        )


#: distance ratio above which a branch is called unfamiliar in the record's notes
UNFAMILIAR = 1.5
_BRANCH_WORDS = {"text": "the transcript's wording", "audio": "the voice", "visual": "the face and video"}


def distance_note(distance: dict, unshrunk: dict, shrunk: dict) -> str | None:
    """A sentence naming every branch whose input is far from the training data, or None.

    Why in the notes: a user reading "+2.6, mostly the voice" must also read that the model has
    never heard a voice like this one, and what the head said before it was shrunk.
    """
    far = [b for b in ("text", "audio", "visual") if distance.get(b, 0.0) > UNFAMILIAR]
    if not far:
        return None
    parts = [f"{_BRANCH_WORDS[b]} ({b}, {distance[b]:.1f}x as far from the training data as its farthest 1 %; "
             f"{b} head {unshrunk[b]:+.2f} shrunk to {shrunk[b]:+.2f})" for b in far]
    return ("Unlike anything this model was trained on: " + "; ".join(parts) + ". Read its predictions on this "
            "clip with care; the fused prediction still uses every input (see the counterfactuals without them).")


def truncation_note(clip: ClipFeatures, cfg: FusionConfig, n_tokens: int) -> str | None:
    """A sentence saying exactly what the model did not read of ``clip``, or None when it reads all.

    Why: the model reads the first ``cfg.max_av_steps`` audio/visual steps and the first
    ``cfg.max_text_tokens`` transcript tokens; anything after that changes neither the
    prediction nor the explanations, and a user must be told rather than find out.
    ``n_tokens``: the transcript's untruncated token count (``ModelRunner.count_tokens``).
    """
    total_s = float(clip.duration)
    read_s = None
    for m in (clip.audio, clip.visual):  # steps tile the clip from its start: N steps read = N × step seconds
        if m is not None and m.n_steps > cfg.max_av_steps:
            end = cfg.max_av_steps * float(m.step)
            read_s = end if read_s is None else min(read_s, end)
    cut_tokens = n_tokens > cfg.max_text_tokens
    if read_s is None and not cut_tokens:
        return None
    parts = []
    if read_s is not None:
        parts.append(f"the first {read_s:.1f} s of {total_s:.1f} s")
    if cut_tokens:
        words = _words_within(clip, cfg.max_text_tokens, n_tokens)
        parts.append(f"the first {cfg.max_text_tokens} of {n_tokens} transcript tokens "
                     f"(about {words} of {len(clip.words)} words)")
    return (f"The model read only {' and '.join(parts)}; the rest of this clip does not affect its prediction or "
            "explanations. Clip review splits a long upload into utterances and analyses each one whole.")


def _words_within(clip: ClipFeatures, max_tokens: int, n_tokens: int) -> int:
    """Roughly how many words fit in ``max_tokens`` (proportional to the tokens; the note says "about")."""
    return int(len(clip.words) * max_tokens / max(n_tokens, 1))
