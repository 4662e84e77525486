"""Embedding maps (openTSNE) that place new clips without refitting, and modality alignment.

A map is fitted once per embedding space ("fused", "text", "audio", "visual") over a dataset
and saved as a record (JSON + npz, never a pickle). openTSNE's ``TSNEEmbedding`` cannot be
saved that way, so the record keeps what is needed to rebuild it exactly: the reference
vectors, their fitted 2-D positions and the settings. :func:`place` rebuilds
``openTSNE.affinity.PerplexityBasedNN`` on the reference vectors (exact nearest neighbours,
so the rebuild is deterministic) and ``TSNEEmbedding(xy, affinities)``, then calls
``transform``: new points are optimised against the fixed reference map, which never moves.
A freshly fitted map and the same map loaded from disk therefore place points identically.

:func:`modality_alignment` measures how well two modality embeddings of the same clips line up
(mean cosine of matching pairs and cross-modal retrieval R@1 / R@5, as SPANER judges a shared
space).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmviz.errors import MmvizError
from mmviz.records.serialize import load_record, register_record, save_record

SPACES = ("fused", "text", "audio", "visual")
METRICS = ("euclidean", "cosine")
MIN_POINTS = 5
DEFAULT_PERPLEXITY = 30.0
TRUST_NEIGHBOURS = 5
PROJECTIONS = ("none", "ridge")
_EPS = 1e-12


@register_record
@dataclass(frozen=True)
class EmbeddingMap:
    """A 2-D t-SNE map of one embedding space, able to place new points later.

    space: which embedding ("fused", "text", "audio", "visual", or a caller's name).
    ids: (n,) clip ids of the reference points, in row order.
    xy: float64 (n, 2) map positions (arbitrary t-SNE units, centred on the bounding box).
    reference: float64 (n, d) the vectors the map was fitted on (as given; the ``metric``
        preprocessing is applied when fitting and placing).
    trustworthiness: float in [0, 1], sklearn's trustworthiness of ``xy`` w.r.t. the vectors
        with ``settings["trust_neighbours"]`` neighbours (1 = local neighbourhoods kept).
    seed: the random seed of the fit.
    settings: perplexity_requested, perplexity (used; lowered for small n, see
        ``perplexity_lowered``), metric, n_iter, early_exaggeration_iter, initialization,
        neighbors ("exact"), trust_neighbours, opentsne version, and ``transform`` (the
        settings :func:`place` uses: perplexity, k, n_iter, learning_rate, initialization).
    """

    space: str
    ids: tuple[str, ...]
    xy: np.ndarray
    reference: np.ndarray
    trustworthiness: float
    seed: int
    settings: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.xy.shape[0])

    @property
    def dim(self) -> int:
        return int(self.reference.shape[1])

    @classmethod
    def fit(
        cls,
        embeddings,
        ids: Sequence[str],
        *,
        space: str = "fused",
        seed: int = 0,
        perplexity: float = DEFAULT_PERPLEXITY,
        metric: str = "euclidean",
        n_iter: int = 500,
    ) -> EmbeddingMap:
        """Fit a t-SNE map of ``embeddings`` (n, d) whose rows are the clips ``ids``.

        Needs at least 5 points. When n < 4 × perplexity the perplexity is lowered to
        ``max(1, (n − 1) / 4)`` and the record says so. ``metric="cosine"`` maps unit-normalised
        vectors (Euclidean distance on the unit sphere ranks neighbours like cosine).
        """
        return fit_map(embeddings, ids, space=space, seed=seed, perplexity=perplexity, metric=metric, n_iter=n_iter)

    def place(self, new_vectors) -> np.ndarray:
        """(m, 2) map positions of new vectors; see :func:`place`."""
        return place(self, new_vectors)

    def position(self, clip_id: str) -> tuple[float, float]:
        """The fitted (x, y) of a reference clip."""
        try:
            i = self.ids.index(clip_id)
        except ValueError:
            raise MmvizError(f"{clip_id} is not on the {self.space} map.", hint="Place it with place(map, vector).") from None
        return float(self.xy[i, 0]), float(self.xy[i, 1])


@register_record
@dataclass(frozen=True)
class EmbeddingMaps:
    """One :class:`EmbeddingMap` per embedding space, fitted together on the same clips.

    maps: {space: EmbeddingMap}; ids: (n,) clip ids (same row order in every map); seed; settings.
    """

    maps: dict
    ids: tuple[str, ...]
    seed: int
    settings: dict = field(default_factory=dict)

    def __getitem__(self, space: str) -> EmbeddingMap:
        if space not in self.maps:
            raise MmvizError(f"There is no {space} map; maps exist for {', '.join(self.maps)}.")
        return self.maps[space]


@register_record
@dataclass(frozen=True)
class AlignmentReport:
    """How well two embeddings of the same clips line up (row i of each is clip i).

    names: (name_a, name_b), e.g. ("audio", "visual").
    n: number of clips. projection: "none" (vectors compared as they are; equal dims needed) or
        "ridge" (a is mapped into b's space by ridge regression, cross-fitted: each clip's
        projection comes from a fit on the other folds, so no clip is scored by a map trained on
        itself).
    cosine: float64 (n,) cosine of each clip's pair (projected a vs b).
    mean_cosine: mean of ``cosine``. mean_cosine_mismatched: mean cosine of mismatched pairs
        (a_i vs b_j, i ≠ j) — the baseline: alignment is the gap between the two.
    r_at_1_a_to_b, r_at_5_a_to_b: share of clips whose own b is among the 1 / 5 most similar
        b's to their a (cosine; ties count against the clip). r_at_*_b_to_a: the other way.
    rank_a_to_b, rank_b_to_a: int64 (n,) 0-based rank of the true partner (0 = retrieved first).
    chance_r_at_1, chance_r_at_5: expected R@k of random embeddings (k / n, capped at 1).
    seed; settings: projection details (ridge alpha, folds).
    """

    names: tuple[str, str]
    n: int
    projection: str
    cosine: np.ndarray
    mean_cosine: float
    mean_cosine_mismatched: float
    r_at_1_a_to_b: float
    r_at_5_a_to_b: float
    r_at_1_b_to_a: float
    r_at_5_b_to_a: float
    rank_a_to_b: np.ndarray
    rank_b_to_a: np.ndarray
    chance_r_at_1: float
    chance_r_at_5: float
    seed: int
    settings: dict = field(default_factory=dict)


# ---------------------------------------------------------------- maps


def fit_map(
    embeddings,
    ids: Sequence[str],
    *,
    space: str = "fused",
    seed: int = 0,
    perplexity: float = DEFAULT_PERPLEXITY,
    metric: str = "euclidean",
    n_iter: int = 500,
) -> EmbeddingMap:
    """Fit an :class:`EmbeddingMap`; same as :meth:`EmbeddingMap.fit`."""
    # normalise
    x = _as_matrix(embeddings, f"The {space} embeddings")
    ids_t = tuple(str(i) for i in ids)
    metric = str(metric).lower()
    # validate
    n = x.shape[0]
    if n < MIN_POINTS:
        raise MmvizError(f"A {space} map needs at least {MIN_POINTS} clips; got {n}.",
                         hint="Score more clips before drawing the map.")
    if len(ids_t) != n:
        raise MmvizError(f"There are {n} {space} embeddings but {len(ids_t)} ids; give one id per row.")
    if len(set(ids_t)) != n:
        raise MmvizError(f"The clip ids of the {space} map are not unique; each clip must appear once.")
    if metric not in METRICS:
        raise MmvizError(f"Unknown map metric {metric!r}; use one of {', '.join(METRICS)}.")
    if not (np.isfinite(perplexity) and perplexity > 0):
        raise MmvizError(f"The perplexity must be a positive number; got {perplexity}.")
    if int(n_iter) < 1:
        raise MmvizError(f"n_iter must be at least 1; got {n_iter}.")
    prepared = _prepare(x, metric)
    if np.ptp(prepared, axis=0).max() <= _EPS:
        raise MmvizError(f"All {n} clips have the same {space} embedding, so there is nothing to map.")
    # compute
    settings = _fit_settings(n, float(perplexity), metric, int(n_iter))
    xy = _fit_tsne(prepared, settings, int(seed))
    trust = _trustworthiness(prepared, xy, settings["trust_neighbours"])
    # build
    return EmbeddingMap(space=str(space), ids=ids_t, xy=xy, reference=x, trustworthiness=trust, seed=int(seed),
                        settings=settings)


def place(emb_map: EmbeddingMap, new_vectors) -> np.ndarray:
    """(m, 2) positions of new vectors on a fitted map, by openTSNE ``transform`` (no refit).

    ``new_vectors`` is (m, d) or one (d,) vector in the map's space. The reference map is rebuilt
    from the record (reference vectors + positions + settings) and stays fixed; only the new
    points are optimised, each attracted by its nearest reference points. Deterministic: the
    same map (fresh or loaded from disk) and vectors give the same positions.
    """
    # normalise
    if not isinstance(emb_map, EmbeddingMap):
        raise MmvizError(f"place() needs an EmbeddingMap, not {type(emb_map).__name__}.")
    q = _as_matrix(new_vectors, "The vectors to place", allow_vector=True)
    # validate
    if q.shape[1] != emb_map.dim:
        raise MmvizError(f"The vectors to place have {q.shape[1]} dimensions but the {emb_map.space} map was fitted "
                         f"on {emb_map.dim}.", hint=f"Place {emb_map.space} embeddings from the same checkpoint.")
    if q.shape[0] == 0:
        return np.zeros((0, 2), dtype=np.float64)
    # compute + build
    return _transform(emb_map, _prepare(q, emb_map.settings["metric"]))


def fit_maps(
    source,
    ids: Sequence[str] | None = None,
    *,
    spaces: Sequence[str] = SPACES,
    seed: int = 0,
    perplexity: float = DEFAULT_PERPLEXITY,
    metric: str = "euclidean",
    n_iter: int = 500,
) -> EmbeddingMaps:
    """Fit one map per space at once, over the same clips in the same order.

    ``source`` is either a sequence of :class:`~mmviz.inference.record.Inspection` (their
    ``embeddings[space]`` and ``clip_id`` are used; ``ids`` may be omitted) or a mapping
    ``{space: (n, d) array}`` with ``ids`` given.
    """
    # normalise
    spaces = tuple(str(s) for s in spaces)
    if isinstance(source, Mapping):
        arrays = {s: source[s] for s in spaces if s in source}
        missing = [s for s in spaces if s not in source]
        if missing:
            raise MmvizError(f"No embeddings were given for the {', '.join(missing)} space(s).")
        if ids is None:
            raise MmvizError("Give the clip ids (one per row) along with the embedding arrays.")
        ids_t = tuple(str(i) for i in ids)
    else:
        items = list(source or [])
        if not items:
            raise MmvizError("No inspections were given: score some clips before fitting maps.")
        missing = sorted({s for i in items for s in spaces if s not in i.embeddings})
        if missing:
            raise MmvizError(f"Some inspections have no {', '.join(missing)} embedding.")
        arrays = {s: np.stack([np.asarray(i.embeddings[s], dtype=np.float64).reshape(-1) for i in items]) for s in spaces}
        ids_t = tuple(str(i.clip_id) for i in items) if ids is None else tuple(str(i) for i in ids)
    # validate
    if not spaces:
        raise MmvizError("Choose at least one embedding space to map.")
    # compute (each fit validates its own array) + build
    maps = {s: fit_map(arrays[s], ids_t, space=s, seed=seed, perplexity=perplexity, metric=metric, n_iter=n_iter)
            for s in spaces}
    return EmbeddingMaps(maps=maps, ids=ids_t, seed=int(seed),
                         settings={"spaces": spaces, "perplexity_requested": float(perplexity), "metric": metric,
                                   "n_iter": int(n_iter)})


def save_map(emb_map: EmbeddingMap | EmbeddingMaps, path: str | Path) -> Path:
    """Save a map (or a set of maps) as JSON + npz; returns the JSON path."""
    if not isinstance(emb_map, (EmbeddingMap, EmbeddingMaps)):
        raise MmvizError(f"save_map() saves EmbeddingMap / EmbeddingMaps records, not {type(emb_map).__name__}.")
    return save_record(emb_map, path)


def load_map(path: str | Path) -> EmbeddingMap | EmbeddingMaps:
    """Load a map saved by :func:`save_map` (never unpickles)."""
    rec = load_record(path)
    if not isinstance(rec, (EmbeddingMap, EmbeddingMaps)):
        raise MmvizError(f"{Path(path).name} holds a {type(rec).__name__}, not an embedding map.")
    return rec


# ---------------------------------------------------------------- alignment


def modality_alignment(
    emb_a,
    emb_b,
    *,
    names: tuple[str, str] = ("a", "b"),
    projection: str = "none",
    ridge_alpha: float = 0.01,
    folds: int = 5,
    seed: int = 0,
) -> AlignmentReport:
    """Mean cosine of matching pairs and cross-modal retrieval R@1 / R@5 between two embeddings.

    Row i of ``emb_a`` (n, d_a) and ``emb_b`` (n, d_b) must be the same clip.

    What is compared:

    * ``projection="none"`` (default) compares the vectors as they are, so both must live in
      one space with the same dimension. In this model that means audio ↔ visual (both the
      audio-visual encoder's width A) and text ↔ fused (both the LM width D).
    * ``projection="ridge"`` first maps a into b's space with ridge regression, cross-fitted over
      ``folds`` folds (seeded split): each clip is projected by a map fitted on the *other*
      clips, so the scores are not inflated by fitting the test pair (an in-sample CCA on
      n ≪ d would align anything perfectly). The penalty is ``ridge_alpha`` × the mean squared
      norm of the centred training rows. Use it for pairs of different widths (text ↔ audio,
      fused ↔ visual); the result then measures how *predictable* b is from a, which is weaker
      than sharing a space.

    Needs at least 2 clips (``projection="ridge"``: at least 4). R@5 with n ≤ 5 is 1 by
    definition; compare with ``chance_r_at_5``.
    """
    # normalise
    a = _as_matrix(emb_a, f"The {names[0]} embeddings")
    b = _as_matrix(emb_b, f"The {names[1]} embeddings")
    projection = str(projection).lower()
    names = (str(names[0]), str(names[1]))
    # validate
    if a.shape[0] != b.shape[0]:
        raise MmvizError(f"There are {a.shape[0]} {names[0]} embeddings but {b.shape[0]} {names[1]} embeddings; "
                         "give one row per clip in both.")
    n = a.shape[0]
    if n < 2:
        raise MmvizError(f"Alignment needs at least 2 clips; got {n}.")
    if projection not in PROJECTIONS:
        raise MmvizError(f"Unknown projection {projection!r}; use one of {', '.join(PROJECTIONS)}.")
    if projection == "none" and a.shape[1] != b.shape[1]:
        raise MmvizError(
            f"The {names[0]} ({a.shape[1]}-d) and {names[1]} ({b.shape[1]}-d) embeddings have different widths, "
            "so they are not in one space.",
            hint='Compare equal-width pairs (audio ↔ visual, text ↔ fused), or pass projection="ridge".',
        )
    if projection == "ridge":
        if n < 4:
            raise MmvizError(f"A cross-fitted projection needs at least 4 clips; got {n}.")
        if not (ridge_alpha > 0):
            raise MmvizError(f"ridge_alpha must be positive; got {ridge_alpha}.")
        if int(folds) < 2:
            raise MmvizError(f"folds must be at least 2; got {folds}.")
    # compute
    settings: dict = {"similarity": "cosine", "ties": "count against the true partner"}
    if projection == "ridge":
        k = min(int(folds), n)
        a = _crossfit_ridge(a, b, float(ridge_alpha), k, int(seed))
        settings.update({"ridge_alpha": float(ridge_alpha), "folds": k, "direction": f"{names[0]} -> {names[1]} space"})
    sim = _cosine_matrix(a, b)  # (n, n): a_i vs b_j
    diag = np.diag(sim).copy()
    rank_ab = _true_rank(sim)
    rank_ba = _true_rank(sim.T)
    off = (sim.sum() - diag.sum()) / (n * n - n)
    # build
    return AlignmentReport(
        names=names, n=n, projection=projection, cosine=diag, mean_cosine=float(diag.mean()),
        mean_cosine_mismatched=float(off),
        r_at_1_a_to_b=float((rank_ab < 1).mean()), r_at_5_a_to_b=float((rank_ab < 5).mean()),
        r_at_1_b_to_a=float((rank_ba < 1).mean()), r_at_5_b_to_a=float((rank_ba < 5).mean()),
        rank_a_to_b=rank_ab, rank_b_to_a=rank_ba,
        chance_r_at_1=min(1.0, 1.0 / n), chance_r_at_5=min(1.0, 5.0 / n), seed=int(seed), settings=settings,
    )


def crossfit_ridge(a, b, *, alpha: float = 0.01, folds: int = 5, seed: int = 0) -> np.ndarray:
    """(n, d_b) prediction of each row of ``b`` from the same row of ``a``, by ridge fitted on the other folds.

    The projection ``modality_alignment(projection="ridge")`` uses, public so that other views
    (the alignment map, linear probes) make embeddings comparable the same way. ``b`` may be a
    (n,) target (a probe); the penalty is ``alpha`` × the mean squared norm of the centred rows.
    """
    x = _as_matrix(a, "The inputs of the ridge projection")
    y = np.asarray(b, dtype=np.float64)
    y2 = y[:, None] if y.ndim == 1 else y
    if y2.shape[0] != x.shape[0]:
        raise MmvizError(f"The ridge projection got {x.shape[0]} input rows but {y2.shape[0]} targets.")
    if x.shape[0] < 4:
        raise MmvizError(f"A cross-fitted projection needs at least 4 clips; got {x.shape[0]}.")
    out = _crossfit_ridge(x, np.ascontiguousarray(y2, dtype=np.float64), float(alpha), min(int(folds), x.shape[0]), int(seed))
    return out[:, 0] if y.ndim == 1 else out


def embeddings_of(inspections, space: str) -> np.ndarray:
    """(n, d) stack of one embedding space from a list of inspections (row order kept)."""
    items = list(inspections or [])
    if not items:
        raise MmvizError("No inspections were given.")
    if any(space not in i.embeddings for i in items):
        raise MmvizError(f"Some inspections have no {space} embedding; spaces are {', '.join(SPACES)}.")
    return np.stack([np.asarray(i.embeddings[space], dtype=np.float64).reshape(-1) for i in items])


# ---------------------------------------------------------------- private helpers


def _as_matrix(x, what: str, *, allow_vector: bool = False) -> np.ndarray:
    try:
        m = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MmvizError(f"{what} are not a numeric array ({e}).") from None
    if allow_vector and m.ndim == 1:
        m = m[None]
    if m.ndim != 2:
        raise MmvizError(f"{what} must be a 2-D array (clips × dimensions); got shape {m.shape}.")
    if m.shape[1] == 0:
        raise MmvizError(f"{what} have no dimensions.")
    if not np.isfinite(m).all():
        raise MmvizError(f"{what} contain NaN or infinite values.", hint="Re-score the clips whose embeddings are broken.")
    return np.ascontiguousarray(m)


def _prepare(x: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)
    return x


def _fit_settings(n: int, perplexity: float, metric: str, n_iter: int) -> dict:
    import openTSNE

    lowered = n < 4 * perplexity
    used = max(1.0, (n - 1) / 4.0) if lowered else perplexity
    trust_k = max(1, min(TRUST_NEIGHBOURS, (n - 1) // 2))  # sklearn needs k < n / 2
    return {
        "perplexity_requested": perplexity,
        "perplexity": float(used),
        "perplexity_lowered": bool(lowered),
        "metric": metric,
        "neighbors": "exact",
        "n_iter": n_iter,
        "early_exaggeration_iter": 250,
        "initialization": "pca",
        "learning_rate": "auto",
        "trust_neighbours": int(trust_k),
        "opentsne": str(openTSNE.__version__),
        "transform": {"perplexity": float(min(5.0, used)), "k": int(min(25, n)), "n_iter": 250,
                      "learning_rate": 0.1, "initialization": "median"},
    }


def _affinities(reference: np.ndarray, settings: dict, seed: int):
    """The same PerplexityBasedNN at fit time and every time a map is rebuilt (exact kNN)."""
    from openTSNE.affinity import PerplexityBasedNN

    return PerplexityBasedNN(reference, perplexity=settings["perplexity"], method=settings["neighbors"],
                             metric="euclidean", random_state=seed, n_jobs=1, verbose=False)


def _fit_tsne(x: np.ndarray, settings: dict, seed: int) -> np.ndarray:
    from openTSNE import TSNE

    aff = _affinities(x, settings, seed)
    tsne = TSNE(n_components=2, perplexity=settings["perplexity"], n_iter=settings["n_iter"],
                early_exaggeration_iter=settings["early_exaggeration_iter"], initialization=settings["initialization"],
                learning_rate=settings["learning_rate"], neighbors=settings["neighbors"], random_state=seed,
                n_jobs=1, verbose=False)
    emb = np.asarray(tsne.fit(x, affinities=aff), dtype=np.float64)  # (n, 2)
    # centre on the bounding box, as openTSNE's transform does to the reference map, so a
    # placed point and the stored positions share one frame
    return np.ascontiguousarray(emb - (emb.max(0) + emb.min(0)) / 2)


def _transform(emb_map: EmbeddingMap, q: np.ndarray) -> np.ndarray:
    from openTSNE import TSNEEmbedding

    st = emb_map.settings
    ref = _prepare(np.asarray(emb_map.reference, dtype=np.float64), st["metric"])
    aff = _affinities(ref, st, emb_map.seed)
    base = TSNEEmbedding(np.array(emb_map.xy, dtype=np.float64), aff, random_state=emb_map.seed, n_jobs=1)
    tr = st["transform"]
    out = base.transform(q, perplexity=tr["perplexity"], k=int(tr["k"]), n_iter=int(tr["n_iter"]),
                         learning_rate=tr["learning_rate"], initialization=tr["initialization"])
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _trustworthiness(x: np.ndarray, xy: np.ndarray, k: int) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(x, xy, n_neighbors=k))


def _cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ua = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), _EPS)
    ub = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), _EPS)
    return ua @ ub.T


def _true_rank(sim: np.ndarray) -> np.ndarray:
    """(n,) for each row i: how many other columns score at least as high as column i."""
    diag = np.diag(sim)[:, None]
    ge = sim >= diag
    np.fill_diagonal(ge, False)
    return ge.sum(1).astype(np.int64)


def _crossfit_ridge(a: np.ndarray, b: np.ndarray, alpha: float, k: int, seed: int) -> np.ndarray:
    """(n, d_b) prediction of each b row from its a row, by ridge fitted on the other folds."""
    n = a.shape[0]
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    out = np.zeros_like(b)
    for f in range(k):
        tr, te = fold != f, fold == f
        mu_a, mu_b = a[tr].mean(0), b[tr].mean(0)
        xa, yb = a[tr] - mu_a, b[tr] - mu_b  # (n_tr, d_a), (n_tr, d_b)
        gram = xa @ xa.T  # (n_tr, n_tr); dual form, cheap when n_tr << d_a
        lam = alpha * max(float(np.trace(gram)) / max(len(gram), 1), _EPS)
        coef = np.linalg.solve(gram + lam * np.eye(len(gram)), yb)  # (n_tr, d_b)
        out[te] = (a[te] - mu_a) @ (xa.T @ coef) + mu_b
    return out
