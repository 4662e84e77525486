"""Nearest neighbours of one clip in an embedding space ("similar clips").

Why cosine distance: the pooled embeddings' norms differ with clip length and loudness, while
their direction is what the map and the alignment metrics compare; the distance is
1 − cosine, in [0, 2]. Ties are broken by row order, so the answer is deterministic.
"""

from __future__ import annotations

import numpy as np

from mmviz.errors import MmvizError


def nearest(embeddings, row: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(rows, distances) of the ``k`` clips closest to ``row`` (itself excluded), nearest first."""
    # normalise
    x = np.asarray(embeddings, dtype=np.float64)
    k = int(k)
    # validate
    if x.ndim != 2 or x.shape[0] == 0:
        raise MmvizError("There are no embeddings to search.", hint="Score the dataset first.")
    if not 0 <= int(row) < x.shape[0]:
        raise MmvizError(f"Row {row} is not in this dataset of {x.shape[0]} clips.")
    if k < 1:
        raise MmvizError(f"Ask for at least one neighbour; got k={k}.")
    # compute
    norms = np.linalg.norm(x, axis=1)
    unit = x / np.where(norms > 0, norms, 1.0)[:, None]
    dist = 1.0 - unit @ unit[int(row)]
    dist[~np.isfinite(dist)] = np.inf
    dist[int(row)] = np.inf
    order = np.argsort(dist, kind="stable")[: min(k, x.shape[0] - 1)]
    order = order[np.isfinite(dist[order])]
    # build
    return order, np.clip(dist[order], 0.0, 2.0)
