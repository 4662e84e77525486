"""The CLI speaks to users in sentences, and the results store finds what was computed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mmviz.cli import main
from mmviz.data.store import ResultsStore
from mmviz.testing.tiny import synthetic_clip, tiny_runner
from mmviz_models.checkpoint import save_checkpoint


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("app", "inspect", "score", "train", "demo-corpus", "build-default"):
        assert cmd in out


def test_bad_checkpoint_is_one_clear_line_not_a_traceback(tmp_path):
    rec = tmp_path / "clip.json"
    from mmviz.records.serialize import save_record

    save_record(synthetic_clip(0), rec)
    r = subprocess.run([sys.executable, "-m", "mmviz", "inspect", str(rec), "--checkpoint", str(tmp_path / "nope")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "is not an mmviz checkpoint" in r.stderr or "No model.safetensors" in r.stderr


def test_inspect_a_features_record_with_a_checkpoint(tmp_path, capsys):
    from mmviz.records.serialize import load_record, save_record

    runner = tiny_runner()
    save_checkpoint(runner.model, tmp_path / "ckpt")
    save_record(synthetic_clip(4), tmp_path / "clip")
    assert main(["inspect", str(tmp_path / "clip.json"), "--checkpoint", str(tmp_path / "ckpt"), "--out", str(tmp_path / "ins")]) == 0
    assert "fused" in capsys.readouterr().out
    ins = load_record(tmp_path / "ins.json")
    assert ins.clip_id == "synthetic_4" and ins.checkpoint_hash


def test_store_keys_by_content_and_checkpoint(tmp_path):
    store = ResultsStore(tmp_path)
    runner = tiny_runner()
    clip = synthetic_clip(1)
    assert store.get_inspection(runner.checkpoint_hash, clip) is None
    ins = runner.inspect([clip])[0]
    store.put_inspection(ins, clip)
    back = store.get_inspection(runner.checkpoint_hash, clip)
    assert back.predictions.fused == ins.predictions.fused
    assert store.get_inspection("other-checkpoint", clip) is None
    store.put_features(clip, "none")
    assert store.get_features(clip.content_hash, "none").clip_id == clip.clip_id
    assert store.get_features(clip.content_hash, "asr") is None  # read with another transcript: not the same record
