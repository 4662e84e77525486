"""Robustness curves: fused quality as each modality is removed or corrupted with growing noise.

Why: a fusion strategy earns its keep when it degrades gracefully. The curves answer "what does
this checkpoint lose when the audio is gone, or the video is noisy, or half the words are
missing?" for every strategy with one definition, so late, early, UME, UMT and deep fusion
can be drawn on one chart (``mmviz.figures.robustness``) and tabled by ``bench/strategies.py``.

Definitions (no new ones: "removed" is :func:`mmviz.features.ablate.remove`, the explainers'):

* **removed** — the modality removed exactly as Shapley and the counterfactuals remove it
  (text → empty transcript; audio/visual → ``baseline``, default "mean": unmeasured steps the
  model imputes with its training mean).
* **noise at level σ** — audio/visual: Gaussian noise of standard deviation σ *in the model's
  normalised feature units* (σ × the checkpoint's per-feature training std, added to each
  feature the model reads; unmeasured steps stay unmeasured). Text: a share ``min(σ, 1)`` of
  the words dropped at random. Level 0 is the clean clip.

Scores: Acc-2 (MMSA "has-zero": label ≥ 0 is positive), non-zero Acc-2 and MAE of the fused
prediction against the labels (:func:`mmviz.data.metrics.mmsa_metrics`). Every random draw is
seeded by (seed, modality, level, clip index), so a curve does not depend on batch size or order.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmviz.data.dataset import LabelledClip
from mmviz.data.metrics import mmsa_metrics
from mmviz.errors import MmvizError
from mmviz.features.ablate import BASELINES, remove
from mmviz.progress import Progress, report
from mmviz.records.features import ClipFeatures
from mmviz.records.keys import features_key, short_hash
from mmviz.records.modalities import MODALITIES
from mmviz.records.serialize import load_record, register_record, save_record

DEFAULT_LEVELS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)
#: the score keys a curve holds, as mmsa_metrics names them
SCORES: tuple[str, ...] = ("Has0_acc_2", "Non0_acc_2", "MAE")


@register_record
@dataclass(frozen=True)
class RobustnessCurves:
    """One checkpoint's fused quality under removal and growing noise, per modality.

    name: what the chart and tables call the checkpoint (e.g. its strategy or folder name).
    checkpoint_hash, strategy: which model (``FusionConfig.strategy``).
    dataset: where the clips came from; n_clips: how many were scored.
    modalities: ("text", "audio", "visual") — row order of the arrays.
    levels: noise levels σ (normalised feature units for audio/visual; text: share ``min(σ, 1)``
        of words dropped). Level 0 is the clean clip.
    noise: float64 (3 scores, M modalities, L levels) — ``scores[k]`` at each level.
    removed: float64 (3 scores, M modalities) — each modality removed (``baseline``).
    scores: names of the first axis (``SCORES``: Has0 Acc-2, Non0 Acc-2, MAE).
    seed; settings: baseline and the noise definition.
    """

    name: str
    checkpoint_hash: str
    strategy: str
    dataset: str
    n_clips: int
    modalities: tuple[str, ...]
    levels: tuple[float, ...]
    noise: np.ndarray
    removed: np.ndarray
    scores: tuple[str, ...] = SCORES
    seed: int = 0
    settings: dict = field(default_factory=dict)

    def score(self, key: str) -> int:
        if key not in self.scores:
            raise MmvizError(f"Robustness curves hold {', '.join(self.scores)}, not {key!r}.")
        return self.scores.index(key)

    def clean(self, key: str = "Has0_acc_2") -> float:
        """The score on clean clips (level 0, the same for every modality)."""
        return float(self.noise[self.score(key), 0, 0])

    def removed_score(self, modality: str, key: str = "Has0_acc_2") -> float:
        return float(self.removed[self.score(key), self.modalities.index(modality)])

    def noise_score(self, modality: str, level_index: int = -1, key: str = "Has0_acc_2") -> float:
        return float(self.noise[self.score(key), self.modalities.index(modality), level_index])

    def to_frame(self) -> pd.DataFrame:
        """Long table: name, modality, condition ("σ=…" or "removed"), level, and one column per score."""
        rows = []
        for j, m in enumerate(self.modalities):
            for li, lv in enumerate(self.levels):
                rows.append({"name": self.name, "modality": m, "condition": f"{lv:g}", "level": float(lv),
                             **{k: float(self.noise[i, j, li]) for i, k in enumerate(self.scores)}})
            rows.append({"name": self.name, "modality": m, "condition": "removed", "level": float("nan"),
                         **{k: float(self.removed[i, j]) for i, k in enumerate(self.scores)}})
        return pd.DataFrame(rows)


# ---------------------------------------------------------------- perturbations


def _rng(seed: int, modality: str, level_index: int, clip_index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), MODALITIES.index(modality), int(level_index), int(clip_index)])


def add_noise(clip: ClipFeatures, modality: str, level: float, names: Sequence[str], std: Sequence[float],
              rng: np.random.Generator) -> ClipFeatures:
    """``clip`` with ``modality`` corrupted at ``level`` (see the module doc); level 0 returns it unchanged."""
    if level <= 0:
        return clip
    if modality == "text":
        share = min(float(level), 1.0)
        keep = tuple(w for w in clip.words if rng.random() >= share)
        return dataclasses.replace(clip, words=keep)
    tm = getattr(clip, modality)
    if tm is None or tm.n_steps == 0:
        return clip
    v = tm.values.astype(np.float32, copy=True)
    for name, s in zip(names, std):
        if name in tm.names:
            j = tm.names.index(name)
            v[:, j] = v[:, j] + rng.normal(0.0, float(level) * float(s), size=tm.n_steps).astype(np.float32)
    return dataclasses.replace(clip, **{modality: dataclasses.replace(tm, values=v)})


# ---------------------------------------------------------------- compute


def model_std(cfg, modality: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(feature names, training std) the model normalises ``modality`` with (std 1 where none was stored,
    as the model itself does)."""
    names = tuple(getattr(cfg, f"{modality}_features"))
    std = tuple(getattr(cfg, f"{modality}_std")) or (1.0,) * len(names)
    return names, std


def robustness_curves(
    runner,
    clips: Sequence[LabelledClip],
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    name: str | None = None,
    dataset: str = "",
    baseline: str = "mean",
    seed: int = 0,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> RobustnessCurves:
    """Fused Acc-2 / MAE of ``runner``'s checkpoint for each modality removed and at each noise level.

    ``runner`` is a :class:`~mmviz.inference.runner.ModelRunner`; ``clips`` need labels.
    ``progress(stage, fraction)`` is called after each condition.
    """
    # normalise
    clips = list(clips)
    lv = tuple(sorted({float(x) for x in levels} | {0.0}))
    # validate
    if len(clips) < 2:
        raise MmvizError(f"Robustness curves need at least 2 labelled clips; got {len(clips)}.",
                         hint="Open a dataset with labels (a labels CSV, or the demo set).")
    if any(not np.isfinite(c.label) for c in clips):
        raise MmvizError("Some clips have no label; robustness is scored against labels.", hint="Drop unlabelled clips first.")
    if any(x < 0 or not np.isfinite(x) for x in lv):
        raise MmvizError(f"Noise levels must be finite and ≥ 0; got {list(levels)}.")
    if baseline not in BASELINES:
        raise MmvizError(f"Unknown baseline {baseline!r}.", hint=f"Use one of: {', '.join(BASELINES)}.")
    # compute
    cfg = runner.cfg
    feats = [c.features for c in clips]
    labels = np.array([c.label for c in clips], dtype=np.float64)
    std = {m: model_std(cfg, m) for m in ("audio", "visual")} | {"text": ((), ())}
    conditions = 1 + len(MODALITIES) * len(lv)  # level 0 once, then removed + noise > 0 per modality
    done = 0

    def scores(variant: list[ClipFeatures], stage: str) -> np.ndarray:
        nonlocal done
        m = mmsa_metrics(_fused(runner, variant, batch_size), labels)
        done += 1
        report(progress, stage, done / conditions)
        return np.array([m[k] for k in SCORES], dtype=np.float64)

    clean = scores(feats, "clean clips")
    noise = np.zeros((len(SCORES), len(MODALITIES), len(lv)), dtype=np.float64)
    removed = np.zeros((len(SCORES), len(MODALITIES)), dtype=np.float64)
    for j, m in enumerate(MODALITIES):
        removed[:, j] = scores([remove(f, m, baseline) for f in feats], f"{m} removed")
        names, sd = std[m]
        for li, level in enumerate(lv):
            if level == 0:
                noise[:, j, li] = clean
                continue
            variant = [add_noise(f, m, level, names, sd, _rng(seed, m, li, i)) for i, f in enumerate(feats)]
            noise[:, j, li] = scores(variant, f"{m} noise {level:g}")
    # build
    return RobustnessCurves(
        name=name or cfg.strategy, checkpoint_hash=runner.checkpoint_hash, strategy=cfg.strategy, dataset=str(dataset),
        n_clips=len(clips), modalities=MODALITIES, levels=lv, noise=noise, removed=removed, seed=int(seed),
        settings={"baseline": baseline, "audio/visual noise": "Gaussian, sigma in normalised feature units",
                  "text noise": "share min(level, 1) of words dropped"},
    )


def _fused(runner, clips: list[ClipFeatures], batch_size: int) -> np.ndarray:
    """The fused prediction for each clip (batched forward, no attention collected)."""
    out: list[float] = []
    for s in range(0, len(clips), batch_size):
        with runner.lock:
            o = runner.forward(runner.inputs(clips[s : s + batch_size]))
        out.extend(o.pred_fused.float().cpu().reshape(-1).tolist())
    return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------- cache


def curves_key(checkpoint_hash: str, clips: Sequence[LabelledClip], levels: Sequence[float], baseline: str, seed: int) -> str:
    """Everything a curve depends on: the weights+config hash, what each clip reads, its label, the settings."""
    parts = [features_key(c.features) + f":{c.label!r}" for c in clips]
    settings = json.dumps({"levels": sorted({float(x) for x in levels} | {0.0}), "baseline": baseline, "seed": int(seed)})
    return short_hash(checkpoint_hash, settings, *parts, n=16)


def cached_robustness_curves(store, runner, clips: Sequence[LabelledClip], levels: Sequence[float] = DEFAULT_LEVELS,
                             *, name: str | None = None, dataset: str = "", baseline: str = "mean", seed: int = 0,
                             progress: Progress | None = None) -> RobustnessCurves:
    """:func:`robustness_curves`, read from / written to the results store (``robustness/<checkpoint>/<key>``).

    The stored record is renamed to ``name`` on the way out, so one computation serves every label.
    """
    path = store.root / "robustness" / runner.checkpoint_hash / f"{curves_key(runner.checkpoint_hash, clips, levels, baseline, seed)}.json"
    rec = None
    if path.exists():
        try:
            rec = load_record(path)
        except (MmvizError, OSError):
            rec = None
    if not isinstance(rec, RobustnessCurves):
        rec = robustness_curves(runner, clips, levels, name=name, dataset=dataset, baseline=baseline, seed=seed, progress=progress)
        save_record(rec, path)
    else:
        report(progress, "read from the results store", 1.0)
    want = name or rec.strategy
    return rec if rec.name == want else dataclasses.replace(rec, name=want)
