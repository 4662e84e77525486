"""Demo text: template sentences with exact valence, and loaders for the shared human-rated text."""

from pathlib import Path

import numpy as np
import pytest

from mmviz.demo.real_text import load_mosi, load_real_text, load_vader, pick_sentence, vader_to_mosi
from mmviz.demo.text import EVALUATIVE, make_sentence
from mmviz.errors import DatasetError

MOSI = "data/text/mosi_train_valid.csv"
TWEETS = "data/text/vader_groundtruth/tweets_GroundTruth.txt"


def _need(shared_dir: Path, rel: str) -> None:
    """Skip (with the reason) when one shared file is absent; ``shared_dir`` itself skips when the folder is."""
    if not (shared_dir / rel).is_file():
        pytest.skip(f"{rel} not found under {shared_dir} (set MMVIZ_SHARED_DIR)")


def test_template_sentence_carries_the_listed_valence():
    rng = np.random.default_rng(0)
    for target in np.linspace(-3, 3, 25):
        s = make_sentence(float(target), rng)
        if abs(target) < 0.25:
            assert s.valence == 0.0
        else:
            phrase = [p for p in EVALUATIVE if f" was {p}" in s.text]
            assert phrase and EVALUATIVE[phrase[0]] == s.valence
            assert abs(s.valence - target) <= 0.5


def test_template_sentences_are_deterministic_per_seed():
    a = [make_sentence(1.0, np.random.default_rng(7)).text for _ in range(3)]
    assert len(set(a)) == 1


def test_vader_rescale_maps_ends_and_zero():
    assert vader_to_mosi(np.array([-4.0, 0.0, 2.0, 4.0, 4.2])).tolist() == [-3.0, 0.0, 1.5, 3.0, 3.0]


def test_missing_shared_dir_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="Cannot find the CMU-MOSI"):
        load_mosi(tmp_path)
    with pytest.raises(DatasetError, match="needs the shared data folder"):
        load_real_text("mosi", None)


def test_mosi_loader_reads_train_and_dev(shared_dir):
    _need(shared_dir, MOSI)
    df = load_mosi(shared_dir)
    assert list(df.columns) == ["id", "text", "valence", "source"]
    assert 1400 < len(df) <= 1513  # 4 empty rows dropped
    assert df["valence"].between(-3, 3).all()
    assert (df["text"].str.len() > 0).all()
    assert len(load_mosi(shared_dir, modes=("dev",))) < 240


def test_vader_loader_rescales_to_mosi_range(shared_dir):
    _need(shared_dir, TWEETS)
    df = load_vader(shared_dir, files=("tweets_GroundTruth.txt",))
    assert len(df) > 4000
    assert df["valence"].between(-3, 3).all()
    assert df["valence"].min() < -2 and df["valence"].max() > 2
    assert df["id"].str.startswith("tweets:").all()


def test_pick_sentence_stays_near_target_and_speakable(shared_dir):
    _need(shared_dir, MOSI)
    pool = load_mosi(shared_dir)
    rng = np.random.default_rng(1)
    for target in (-2.5, 0.0, 2.0):
        s = pick_sentence(pool, target, rng)
        assert abs(s.valence - target) <= 0.25
        assert 3 <= len(s.text.split()) <= 12
        assert s.source == "mosi" and s.source_id
