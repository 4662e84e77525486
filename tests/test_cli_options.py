"""Every numeric CLI option is checked before any work starts, and the library checks the same.

A bad number (``--fps -5``, ``--hop 0``, ``--epochs 0``…) used to hang (the frame sampling loop
never ended) or end in a ZeroDivisionError traceback. Now each is one sentence on stderr naming
the option, the value, the allowed range and what to do, with exit code 2.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from media_fixtures import write_test_clip
from mmviz.cli import main
from mmviz.errors import MmvizError


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_test_clip(tmp_path_factory.mktemp("opts") / "clip.mp4", duration=1.0, fps=10.0)


def _run(argv, capsys) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_negative_fps_is_refused_at_once_not_a_hang(clip):
    """Before the fix this never returned: the sampling loop walked backwards in time."""
    r = subprocess.run([sys.executable, "-m", "mmviz", "features", "--fps", "-5", str(clip)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "--fps" in r.stderr and "-5" in r.stderr and "> 0" in r.stderr


# (subcommand argv with CLIP placeholder, option named in the message, a word of the allowed range)
BAD = [
    (["features", "CLIP", "--fps", "0"], "--fps", "> 0"),
    (["features", "CLIP", "--fps", "nan"], "--fps", "> 0"),
    (["features", "CLIP", "--fps", "ten"], "--fps", "number"),
    (["features", "CLIP", "--hop", "0"], "--hop", "0.01"),
    (["features", "CLIP", "--hop", "-0.1"], "--hop", "0.01"),
    (["features", "CLIP", "--hop", "inf"], "--hop", "0.01"),
    (["features", "CLIP", "--max-duration", "0"], "--max-duration", "> 0"),
    (["features", "CLIP", "--start", "-1", "--end", "2"], "--start", ">= 0"),
    (["features", "CLIP", "--start", "0", "--end", "0"], "--end", "> 0"),
    (["explain", "CLIP", "--steps", "1"], "--steps", ">= 2"),
    (["explain", "CLIP", "--steps", "2.5"], "--steps", "whole number"),
    (["train", "X", "--out", "OUT", "--epochs", "0"], "--epochs", ">= 1"),
    (["train", "X", "--out", "OUT", "--batch-size", "-3"], "--batch-size", ">= 1"),
    (["train", "X", "--out", "OUT", "--lr", "0"], "--lr", "> 0"),
    (["train", "X", "--out", "OUT", "--fusion-tokens", "0"], "--fusion-tokens", ">= 1"),
    (["train", "X", "--out", "OUT", "--patience", "-1"], "--patience", ">= 0"),
    (["train", "X", "--out", "OUT", "--max-steps", "0"], "--max-steps", ">= 1"),
    (["train", "X", "--out", "OUT", "--seed", "-1"], "--seed", ">= 0"),
    (["train", "X", "--out", "OUT", "--lm-loss", "-0.5"], "--lm-loss", ">= 0"),
    (["train", "X", "--out", "OUT", "--fusion-layers", "3,x"], "--fusion-layers", "whole numbers"),
    (["train", "X", "--out", "OUT", "--fusion-layers", "-2"], "--fusion-layers", ">= 0"),
    (["demo-corpus", "--out", "OUT", "--n", "0"], "--n", ">= 1"),
    (["demo-corpus", "--out", "OUT", "--seed", "-4"], "--seed", ">= 0"),
    (["build-default", "--seed", "-4"], "--seed", ">= 0"),
    (["app", "--port", "70000"], "--port", "65535"),
    (["app", "--port", "0"], "--port", ">= 1"),
]


@pytest.mark.parametrize("argv,option,allowed", BAD, ids=[" ".join(a[0:1] + a[-2:]) for a, _, _ in BAD])
def test_bad_numbers_are_one_clear_message(argv, option, allowed, clip, tmp_path, capsys):
    argv = [str(clip) if a == "CLIP" else str(tmp_path / "out") if a == "OUT" else str(tmp_path) if a == "X" else a
            for a in argv]
    rc, err = _run(argv, capsys)
    assert rc == 2, err
    assert "Traceback" not in err
    assert option in err and allowed in err, err
    assert "usage:" not in err, "a sentence, not argparse's usage dump"


def test_good_numbers_still_parse(clip, capsys):
    assert main(["features", str(clip), "--fps", "5", "--hop", "0.2", "--start", "0", "--end", "1"]) == 0
    assert "visual: 5 frames" in capsys.readouterr().out


def test_library_refuses_bad_numbers_too(clip):
    """extract_features / decode / audio_features are entry points too: no hang, no ZeroDivisionError."""
    import numpy as np

    from mmviz.features.audio import audio_features
    from mmviz.features.extract import ExtractSettings, extract_features
    from mmviz.features.visual import visual_features
    from mmviz.media.decode import DecodedMedia, decode

    for kw in ({"fps": -5.0}, {"fps": 0.0}, {"fps": float("nan")}, {"max_duration": 0.0}, {"max_pixels": 0}):
        with pytest.raises(MmvizError, match="must be"):
            decode(clip, **kw)
    for kw in ({"fps": -5.0}, {"fps": 0.0}, {"hop": 0.0}, {"hop": -1.0}, {"max_duration": -1.0}, {"max_pixels": -5}):
        with pytest.raises(MmvizError, match="must be"):
            extract_features(clip, settings=ExtractSettings(**kw))
    mem = DecodedMedia.from_arrays(np.zeros((4, 8, 8, 3), np.uint8), 4.0, None, 16000)
    with pytest.raises(MmvizError, match="must be"):
        extract_features(mem, settings=ExtractSettings(fps=0.0))
    with pytest.raises(MmvizError, match="must be"):
        audio_features(np.zeros(1600, np.float32), 16000, hop=0.0)
    with pytest.raises(MmvizError, match="must be"):
        audio_features(np.zeros(1600, np.float32), 0, hop=0.1)
    with pytest.raises(MmvizError, match="must be"):
        visual_features(np.zeros((2, 8, 8, 3), np.uint8), np.array([0.05, 0.15]), step=0.0)
    with pytest.raises(MmvizError, match="must be"):
        DecodedMedia.from_arrays(np.zeros((4, 8, 8, 3), np.uint8), 0.0, None, 16000)
