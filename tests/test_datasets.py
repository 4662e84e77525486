"""MMSA feature pickles load through a restricted unpickler; anything else is refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from mmviz.data.dataset import load_dataset
from mmviz.errors import DatasetError


def _mmsa(path, n=4):
    rng = np.random.default_rng(0)
    part = lambda k: {  # noqa: E731
        "audio": rng.normal(size=(k, 6, 5)).astype(np.float32),
        "vision": rng.normal(size=(k, 6, 3)).astype(np.float32),
        "raw_text": ["it was fine"] * k,
        "regression_labels": np.linspace(-2, 2, k).astype(np.float32),
        "id": [f"v$_{i}" for i in range(k)],
    }
    with open(path, "wb") as f:
        pickle.dump({"train": part(n), "valid": part(2), "test": part(2)}, f)


def test_mmsa_pickle_becomes_labelled_clip_features(tmp_path):
    _mmsa(tmp_path / "mosi.pkl")
    data = load_dataset(tmp_path / "mosi.pkl")
    assert [d.split for d in data].count("train") == 4 and len(data) == 8
    first = data[0]
    assert first.features.audio.values.shape == (6, 5) and first.features.visual.names[0] == "mmsa_visual_0"
    assert first.features.transcript == "it was fine" and first.label == pytest.approx(-2.0)
    np.testing.assert_allclose(first.features.audio.times[:2], [0.05, 0.15])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/mmviz_pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"train": _Evil()}, f)
    with pytest.raises(DatasetError, match="Refusing to load this pickle"):
        load_dataset(tmp_path / "evil.pkl")
    assert not os.path.exists("/tmp/mmviz_pwned")


def test_missing_dataset_is_named(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nothing")
