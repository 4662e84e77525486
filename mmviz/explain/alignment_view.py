"""The modalities of the same clips on one map, with how well they line up.

Why: the alignment table gives numbers (matched vs mismatched cosine, retrieval R@k); the map
shows them — if the text, audio and visual points of one clip sit together, the modalities
share a space; if each modality forms its own island, they do not.

One space first, as the alignment table makes pairs comparable (``modality_alignment``):

* all modalities of one width (the shared-prompt aligner reports text, audio and visual in its
  width A) → the embeddings are used **as they are**;
* otherwise the reference space is the width most modalities share (audio and visual: the
  audio-visual encoder's A), and each other modality is mapped into it by a **cross-fitted
  ridge** projection onto the first reference modality (each clip projected by a map fitted on
  the other clips). That measures how predictable one modality is from another, weaker than a
  shared space, and the record says which was done.

Then all points (n clips × m modalities) go through one 2-D projection (PCA, or openTSNE via
``embedding_map.fit_map``), and each modality pair gets a :class:`AlignmentReport` computed on the
same common-space vectors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import AlignmentReport, crossfit_ridge, fit_map, modality_alignment
from mmviz.records.modalities import MODALITIES
from mmviz.records.serialize import register_record

METHODS = ("pca", "tsne")
MIN_CLIPS = 4


@register_record
@dataclass(frozen=True)
class AlignmentView:
    """Text, audio and visual embeddings of the same clips on one 2-D map.

    ids: (n,) clip ids. modalities: the modalities drawn, in order.
    xy: float64 (n × m, 2) map positions; row ``k * n + i`` is clip i in modality ``modalities[k]``.
    point_modality: (n × m,) modality index of each row; point_clip: (n × m,) clip index.
    projection: "none" (one width: used as they are) or "ridge" (projected into ``space`` first).
    space: the modality whose space is the common one (e.g. "audio"), or "shared" for "none".
    method: "pca" or "tsne". reports: one :class:`AlignmentReport` per modality pair, on the
        common-space vectors. checkpoint_hash; seed; settings.
    """

    ids: tuple[str, ...]
    modalities: tuple[str, ...]
    xy: np.ndarray
    point_modality: np.ndarray
    point_clip: np.ndarray
    projection: str
    space: str
    method: str
    reports: tuple
    checkpoint_hash: str = ""
    seed: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.ids)

    def report(self, a: str, b: str) -> AlignmentReport:
        for r in self.reports:
            if tuple(r.names) == (a, b):
                return r
        raise MmvizError(f"There is no {a} ↔ {b} alignment in this view.")

    def metrics(self) -> list[dict]:
        """One row per modality pair: matched / mismatched cosine, R@1 and R@5 (both directions), chance."""
        return [{"pair": f"{r.names[0]} ↔ {r.names[1]}", "cosine matched": r.mean_cosine,
                 "cosine mismatched": r.mean_cosine_mismatched, "R@1 →": r.r_at_1_a_to_b, "R@5 →": r.r_at_5_a_to_b,
                 "R@1 ←": r.r_at_1_b_to_a, "R@5 ←": r.r_at_5_b_to_a, "chance R@1": r.chance_r_at_1,
                 "chance R@5": r.chance_r_at_5, "n": r.n} for r in self.reports]


def common_space(embeddings: Mapping[str, np.ndarray], *, seed: int = 0) -> tuple[dict[str, np.ndarray], str, str]:
    """The modalities' embeddings in one space: ``(vectors, projection, space)`` (see the module docstring)."""
    widths = {m: np.asarray(v).shape[1] for m, v in embeddings.items()}
    if len(set(widths.values())) == 1:
        return {m: np.asarray(v, dtype=np.float64) for m, v in embeddings.items()}, "none", "shared"
    width = Counter(widths.values()).most_common(1)[0][0]
    ref = next(m for m in embeddings if widths[m] == width)
    out = {}
    for m, v in embeddings.items():
        x = np.asarray(v, dtype=np.float64)
        out[m] = x if widths[m] == width else crossfit_ridge(x, np.asarray(embeddings[ref], dtype=np.float64), seed=seed)
    return out, "ridge", ref


def alignment_view(
    embeddings: Mapping[str, np.ndarray],
    ids: Sequence[str],
    *,
    modalities: Sequence[str] = MODALITIES,
    method: str = "pca",
    checkpoint_hash: str = "",
    seed: int = 0,
) -> AlignmentView:
    """Map the ``modalities`` of the same clips (row i of each array = clip ``ids[i]``) into one 2-D view."""
    # normalise
    method = str(method).lower()
    mods = tuple(m for m in modalities if m in embeddings)
    ids_t = tuple(str(i) for i in ids)
    arrays = {m: np.asarray(embeddings[m], dtype=np.float64) for m in mods}
    # validate
    if method not in METHODS:
        raise MmvizError(f"Unknown map method {method!r}; use one of {', '.join(METHODS)}.")
    if len(mods) < 2:
        raise MmvizError("The alignment view needs the embeddings of at least two modalities.",
                         hint="Score the dataset with a checkpoint that reports text, audio and visual embeddings.")
    for m, x in arrays.items():
        if x.ndim != 2 or x.shape[0] != len(ids_t):
            raise MmvizError(f"The {m} embeddings have shape {x.shape}, not one row for each of the {len(ids_t)} clips.")
        if not np.isfinite(x).all():
            raise MmvizError(f"The {m} embeddings contain NaN or infinite values.", hint="Re-score the dataset.")
    if len(ids_t) < MIN_CLIPS:
        raise MmvizError(f"The alignment view needs at least {MIN_CLIPS} clips; this dataset has {len(ids_t)}.",
                         hint="Open a dataset with more clips.")
    # compute
    common, projection, space = common_space(arrays, seed=seed)
    stacked = np.concatenate([common[m] for m in mods])  # (n·m, d)
    xy = _pca2(stacked) if method == "pca" else fit_map(stacked, [f"{m}:{i}" for m in mods for i in range(len(ids_t))],
                                                        space="alignment", seed=seed, metric="cosine").xy
    reports = tuple(modality_alignment(common[a], common[b], names=(a, b), projection="none", seed=seed)
                    for k, a in enumerate(mods) for b in mods[k + 1:])
    n = len(ids_t)
    # build
    return AlignmentView(ids=ids_t, modalities=mods, xy=np.ascontiguousarray(xy, dtype=np.float64),
                         point_modality=np.repeat(np.arange(len(mods)), n).astype(np.int64),
                         point_clip=np.tile(np.arange(n), len(mods)).astype(np.int64), projection=projection, space=space,
                         method=method, reports=reports, checkpoint_hash=str(checkpoint_hash), seed=int(seed),
                         settings={"ridge": "cross-fitted, 5 folds, alpha 0.01" if projection == "ridge" else "",
                                   "widths": {m: int(arrays[m].shape[1]) for m in mods}})


def _pca2(x: np.ndarray) -> np.ndarray:
    """(n, 2) first two principal components (SVD of the centred matrix; signs fixed for reproducibility)."""
    c = x - x.mean(0)
    u, s, vt = np.linalg.svd(c, full_matrices=False)
    k = min(2, len(s))
    comps = vt[:k] * np.sign(vt[:k, [0]] + 1e-300)
    out = np.zeros((x.shape[0], 2))
    out[:, :k] = c @ comps.T
    return out


__all__ = ["METHODS", "AlignmentView", "alignment_view", "common_space"]
