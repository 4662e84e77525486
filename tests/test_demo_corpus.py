"""Generating a demo corpus: deterministic metadata, decodable mp4s, a clear error without espeak-ng."""

from __future__ import annotations

import shutil

import pytest

from mmviz.demo import DEMO_N, default_demo_dir
from mmviz.demo.corpus import METADATA_COLUMNS, generate_corpus, read_metadata
from mmviz.errors import MmvizError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """Four clips (seed 7): the first four scenarios of that seed's cycle."""
    out = tmp_path_factory.mktemp("demo_a")
    return out, generate_corpus(out, 4, seed=7)


@needs_espeak
def test_metadata_has_the_documented_columns(small_corpus):
    out, meta = small_corpus
    assert list(meta.columns) == METADATA_COLUMNS
    assert meta["duration"].between(3.0, 8.0).all()
    assert set(meta["decisive_modality"]) <= {"text", "audio", "visual", "none"}
    on_disk = read_metadata(out)
    assert on_disk["clip_id"].tolist() == meta["clip_id"].tolist()
    for _, row in meta.iterrows():
        assert (out / row["file"]).is_file()
        assert (out / f"{row['clip_id']}.txt").read_text().strip() == row["transcript"]


@needs_espeak
def test_same_seed_gives_identical_metadata(small_corpus, tmp_path):
    out, _ = small_corpus
    again = generate_corpus(tmp_path, 4, seed=7)
    assert (tmp_path / "metadata.csv").read_bytes() == (out / "metadata.csv").read_bytes()
    other = generate_corpus(tmp_path / "other", 4, seed=8)
    assert not other.drop(columns=["file", "clip_id"]).equals(again.drop(columns=["file", "clip_id"]))


@needs_espeak
def test_mp4_decodes_with_audio_and_video_of_the_planned_duration(small_corpus):
    av = pytest.importorskip("av")
    out, meta = small_corpus
    row = meta.iloc[0]
    with av.open(str(out / row["file"])) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(out / row["file"])) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
        sr = c.streams.audio[0].rate
    fps = 15.0
    assert len(frames) / fps == pytest.approx(row["duration"], abs=0.1)
    assert samples / sr == pytest.approx(row["duration"], abs=0.15)
    assert frames[0].shape == (240, 320, 3)


def test_missing_espeak_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(MmvizError, match="espeak-ng") as err:
        generate_corpus(tmp_path, 1, seed=0)
    assert "apt-get install espeak-ng" in str(err.value)


def test_cli_reports_missing_espeak_without_traceback(monkeypatch, tmp_path, capsys):
    from mmviz.cli import main

    monkeypatch.setattr("shutil.which", lambda name: None)
    assert main(["demo-corpus", "--out", str(tmp_path), "--n", "1"]) == 2
    assert "espeak-ng" in capsys.readouterr().err


def test_bad_arguments_are_user_errors(tmp_path):
    with pytest.raises(MmvizError, match="at least one clip"):
        generate_corpus(tmp_path, 0, seed=0)
    with pytest.raises(MmvizError, match="Unknown text source"):
        generate_corpus(tmp_path, 1, seed=0, text_source="wikipedia")


def test_committed_demo_set_is_complete_and_small():
    d = default_demo_dir()
    if not (d / "metadata.csv").is_file():
        pytest.skip("the committed demo set has not been generated yet")
    meta = read_metadata(d)
    assert len(meta) == DEMO_N
    assert all((d / f).is_file() for f in meta["file"])
    assert (d / "README.md").is_file()
    assert sum(p.stat().st_size for p in d.iterdir()) < 6.5e6
    # the mix the corpus promises: each modality decides somewhere, conflicts, spans, neutral clips
    assert set(meta["decisive_modality"]) == {"text", "audio", "visual", "none"}
    assert meta["conflict"].sum() >= 8 and (~meta["conflict"]).sum() >= 8
    spans = meta.dropna(subset=["decisive_span_start"])
    assert set(spans["decisive_modality"]) == {"audio", "visual"}
    assert (spans["decisive_span_end"] > spans["decisive_span_start"]).all()
    assert (spans["decisive_span_end"] <= spans["duration"]).all()


@needs_espeak
def test_real_text_corpus_uses_human_rated_sentences(shared_dir, tmp_path):
    if not (shared_dir / "data/text/mosi_train_valid.csv").is_file():
        pytest.skip(f"MOSI text not found under {shared_dir}")
    meta = generate_corpus(tmp_path, 2, seed=3, text_source="mosi", shared_dir=shared_dir)
    assert (meta["text_source"] == "mosi").all()
    assert meta["text_source_id"].str.len().gt(0).all()
    assert meta["text_valence"].between(-3, 3).all()


@needs_espeak
def test_features_only_corpus_writes_records_not_video(tmp_path):
    pytest.importorskip("mmviz.features.extract", reason="feature extraction not built yet")
    from mmviz.records.features import ClipFeatures
    from mmviz.records import load_record

    meta = generate_corpus(tmp_path, 2, seed=1, keep_media=False)
    assert not list(tmp_path.glob("*.mp4"))
    for _, row in meta.iterrows():
        feats = load_record(tmp_path / row["file"])
        assert isinstance(feats, ClipFeatures)
        assert feats.visual is not None and feats.audio is not None
        assert feats.duration == pytest.approx(row["duration"], abs=0.1)
        assert feats.transcript.split() == row["transcript"].split()
