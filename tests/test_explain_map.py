"""Embedding maps (openTSNE fit + transform, saved without pickle) and modality alignment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmviz.errors import MmvizError
from mmviz.explain.embedding_map import (
    AlignmentReport,
    EmbeddingMap,
    EmbeddingMaps,
    fit_maps,
    load_map,
    modality_alignment,
    place,
    save_map,
)
from mmviz.records.serialize import records_equal


def clusters(n_per: int = 10, k: int = 4, d: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 10
    x = np.concatenate([c + rng.normal(size=(n_per, d)) for c in centres])
    return x, np.repeat(np.arange(k), n_per)


@pytest.fixture(scope="module")
def cluster_map():
    x, labels = clusters()
    return EmbeddingMap.fit(x, [f"clip{i}" for i in range(len(x))], space="fused", seed=0), x, labels


def nearest_cluster(emb_map: EmbeddingMap, labels: np.ndarray, p: np.ndarray) -> int:
    cents = np.stack([emb_map.xy[labels == c].mean(0) for c in np.unique(labels)])
    return int(np.argmin(np.linalg.norm(cents - p, axis=1)))


def test_map_of_separated_clusters_is_trustworthy(cluster_map):
    m, x, labels = cluster_map
    assert m.xy.shape == (len(x), 2) and m.reference.shape == x.shape
    assert m.trustworthiness > 0.9
    assert m.seed == 0 and m.space == "fused"
    # 40 points < 4 × 30: the perplexity was lowered and the record says so
    assert m.settings["perplexity_lowered"] and m.settings["perplexity"] == pytest.approx(39 / 4)
    assert m.settings["perplexity_requested"] == 30.0
    # every cluster stays together: each point's nearest centroid is its own cluster's
    assert all(nearest_cluster(m, labels, m.xy[i]) == labels[i] for i in range(len(x)))


def test_placed_points_land_in_their_cluster(cluster_map):
    m, x, labels = cluster_map
    rng = np.random.default_rng(1)
    idx = np.array([0, 13, 27, 35])
    new = x[idx] + 0.05 * rng.normal(size=(len(idx), x.shape[1]))
    p = place(m, new)
    assert p.shape == (len(idx), 2)
    span = np.ptp(m.xy, axis=0).max()
    for row, i in zip(p, idx):
        assert nearest_cluster(m, labels, row) == labels[i]
        assert np.linalg.norm(row - m.xy[i]) < 0.1 * span  # next to its own fitted position
    # a single vector is accepted; placing does not move the reference map
    xy_before = m.xy.copy()
    assert m.place(new[0]).shape == (1, 2)
    np.testing.assert_array_equal(m.xy, xy_before)


def test_save_load_place_is_identical(cluster_map, tmp_path):
    m, x, _ = cluster_map
    path = save_map(m, tmp_path / "fused_map")
    assert path.suffix == ".json" and (tmp_path / "fused_map.npz").exists()
    json.loads(path.read_text())  # plain JSON, no pickle anywhere
    back = load_map(tmp_path / "fused_map")
    assert isinstance(back, EmbeddingMap) and records_equal(m, back)
    q = x[[3, 22]] + 0.01
    np.testing.assert_array_equal(place(m, q), place(back, q))
    assert back.position("clip3") == m.position("clip3")


def test_fit_is_reproducible_with_a_seed():
    x, _ = clusters(n_per=5, k=2, seed=3)
    ids = [str(i) for i in range(len(x))]
    a = EmbeddingMap.fit(x, ids, seed=7, n_iter=200)
    b = EmbeddingMap.fit(x, ids, seed=7, n_iter=200)
    np.testing.assert_array_equal(a.xy, b.xy)


def test_small_sets():
    x, _ = clusters(n_per=4, k=2, seed=2)
    with pytest.raises(MmvizError, match="at least 5"):
        EmbeddingMap.fit(x[:4], list("abcd"))
    m = EmbeddingMap.fit(x[:5], list("abcde"), perplexity=30, n_iter=200)
    assert m.settings["perplexity"] == 1.0 and m.settings["perplexity_lowered"]
    assert 0.0 <= m.trustworthiness <= 1.0
    assert place(m, x[5:7]).shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ids": ["a"] * 8}, "not unique"),
        ({"ids": ["a", "b"]}, "one id per row"),
        ({"metric": "manhattan"}, "Unknown map metric"),
        ({"perplexity": -1.0}, "positive"),
    ],
)
def test_fit_input_errors(kwargs, message):
    x, _ = clusters(n_per=4, k=2)
    args = {"ids": [str(i) for i in range(8)], **kwargs}
    with pytest.raises(MmvizError, match=message):
        EmbeddingMap.fit(x, **args)


def test_fit_rejects_broken_embeddings():
    x, _ = clusters(n_per=4, k=2)
    ids = [str(i) for i in range(8)]
    bad = x.copy()
    bad[2, 0] = np.nan
    with pytest.raises(MmvizError, match="NaN"):
        EmbeddingMap.fit(bad, ids)
    with pytest.raises(MmvizError, match="same fused embedding"):
        EmbeddingMap.fit(np.ones((8, 3)), ids)


def test_place_checks_dimensions(cluster_map):
    m = cluster_map[0]
    with pytest.raises(MmvizError, match="dimensions"):
        place(m, np.zeros((2, 5)))
    assert place(m, np.zeros((0, m.dim))).shape == (0, 2)


def test_cosine_metric_ignores_scale():
    x, labels = clusters(n_per=6, k=3, seed=4)
    scaled = x * np.linspace(1, 5, len(x))[:, None]  # lengths differ, directions keep the clusters
    m = EmbeddingMap.fit(scaled, [str(i) for i in range(len(x))], metric="cosine", n_iter=300)
    assert m.settings["metric"] == "cosine"
    assert m.trustworthiness > 0.9
    p = place(m, x[[0]] * 100)  # same direction as point 0, any length
    assert nearest_cluster(m, labels, p[0]) == labels[0]


def test_fit_maps_for_all_spaces_from_tiny_inspections(tiny_runner, tmp_path):
    from mmviz.testing.tiny import synthetic_clip

    ins = tiny_runner.inspect([synthetic_clip(i, text=t) for i, t in enumerate(
        ["good film", "bad film", "great fun", "awful plot", "fine acting", "dull music"])])
    maps = fit_maps(ins, seed=0, n_iter=200)
    assert isinstance(maps, EmbeddingMaps)
    assert set(maps.maps) == {"fused", "text", "audio", "visual"}
    assert maps.ids == tuple(i.clip_id for i in ins)
    assert maps["audio"].dim == ins[0].embeddings["audio"].shape[0]
    assert maps["fused"].dim == ins[0].embeddings["fused"].shape[0]
    save_map(maps, tmp_path / "maps")
    back = load_map(tmp_path / "maps")
    assert records_equal(maps, back)
    q = ins[0].embeddings["fused"][None]
    np.testing.assert_array_equal(place(maps["fused"], q), place(back["fused"], q))
    with pytest.raises(MmvizError, match="There is no prosody map"):
        maps["prosody"]


# ---------------------------------------------------------------- alignment


def test_alignment_of_identical_embeddings_is_perfect():
    x, _ = clusters(n_per=5, k=4, seed=5)
    rep = modality_alignment(x, x + 1e-3, names=("audio", "visual"))
    assert isinstance(rep, AlignmentReport)
    assert rep.mean_cosine == pytest.approx(1.0, abs=1e-6)
    assert rep.r_at_1_a_to_b == 1.0 and rep.r_at_1_b_to_a == 1.0 and rep.r_at_5_a_to_b == 1.0
    assert rep.mean_cosine_mismatched < rep.mean_cosine
    assert rep.chance_r_at_1 == pytest.approx(1 / 20) and rep.chance_r_at_5 == pytest.approx(5 / 20)
    assert rep.names == ("audio", "visual") and rep.projection == "none"


def test_alignment_of_mismatched_pairs_retrieves_nothing():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 8))
    b = np.roll(a, 1, axis=0)  # clip i's b is clip i-1's a: every pair is wrong
    rep = modality_alignment(a, b)
    assert rep.r_at_1_a_to_b == 0.0 and rep.r_at_1_b_to_a == 0.0
    np.testing.assert_array_equal(rep.rank_a_to_b > 0, True)


def test_alignment_ties_count_against_the_clip():
    rep = modality_alignment(np.ones((6, 3)), np.ones((6, 3)))
    assert rep.mean_cosine == pytest.approx(1.0)
    assert rep.r_at_1_a_to_b == 0.0  # identical vectors cannot tell clips apart


def test_alignment_of_different_widths_needs_a_projection():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(40, 16))
    b = a @ rng.normal(size=(16, 6))  # b is a linear function of a, in 6 dims
    with pytest.raises(MmvizError, match="different widths"):
        modality_alignment(a, b, names=("text", "audio"))
    rep = modality_alignment(a, b, projection="ridge", seed=0)
    assert rep.projection == "ridge" and rep.settings["folds"] == 5
    assert rep.r_at_1_a_to_b > 0.8 and rep.mean_cosine > 0.95
    # unrelated embeddings: a cross-fitted projection does not invent alignment
    noise = modality_alignment(a, rng.normal(size=(40, 6)), projection="ridge", seed=0)
    assert noise.r_at_1_a_to_b < 0.25 and noise.mean_cosine < 0.5


@pytest.mark.parametrize(
    "a_shape, b_shape, kwargs, message",
    [
        ((5, 4), (6, 4), {}, "one row per clip"),
        ((1, 4), (1, 4), {}, "at least 2"),
        ((3, 4), (3, 2), {"projection": "ridge"}, "at least 4"),
        ((5, 4), (5, 4), {"projection": "cca"}, "Unknown projection"),
    ],
)
def test_alignment_input_errors(a_shape, b_shape, kwargs, message):
    with pytest.raises(MmvizError, match=message):
        modality_alignment(np.ones(a_shape), np.ones(b_shape), **kwargs)
