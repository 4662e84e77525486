"""Valid videos with a broken clock, and tiny frames, keep their picture.

Some encoders and screen recorders write every frame at timestamp 0, a constant, or a counter
(1 ms per frame) instead of a time. The frames all decode; only the clock is useless. Such
files used to be refused as truncated, analysed as audio only, or kept ONE frame of a 7.4 s
clip, silently. They must decode to the same pictures as a file with a good clock, placed by
index at the stream's frame rate, with a warning naming the repair.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from media_fixtures import SR, blank_frames, remux_video_timestamps, write_test_clip
from mmviz.media.decode import decode
from mmviz.media.encode import write_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("odd")
    good_mp4 = write_test_clip(d / "good.mp4", duration=3.0, fps=25.0)
    return {
        "good.mp4": good_mp4,
        # every video packet at pts 0: mp4 then reports average_rate 1875 and a 0.04 s video
        "zero.mp4": remux_video_timestamps(good_mp4, d / "zero.mp4", lambda i, pts: 0),
        # matroska shifts the constant clock to 0.064 s (the audio priming): constant, not zero
        "constant.mkv": remux_video_timestamps(good_mp4, d / "constant.mkv", lambda i, pts: 0),
    }


def _repair_warning(media) -> str:
    found = [w for w in media.info.warnings if "timestamps" in w]
    assert found, f"no warning names the repair: {media.info.warnings}"
    return found[0]


@pytest.mark.parametrize("name", ["zero.mp4", "constant.mkv"])
def test_frames_all_at_one_timestamp_keep_every_picture(clips, name):
    good = decode(clips["good.mp4"])
    media = decode(clips[name])
    assert media.info.frames_decoded == 75 and media.info.has_video
    assert media.frames is not None and len(media.frames) == len(good.frames) == 30, "3 s sampled at 10 fps"
    np.testing.assert_allclose(media.frame_times, good.frame_times)
    np.testing.assert_array_equal(media.frames, good.frames)  # the same picture at the same time
    assert media.info.duration_decoded == pytest.approx(3.0, abs=0.1)
    warning = _repair_warning(media)
    assert "placed by index at 25 fps" in warning and ("all zero" in warning or "all the same" in warning)
    assert not any("timestamps" in w for w in good.info.warnings), "a good clock is not 'repaired'"


def test_cli_analyses_the_picture_and_says_what_was_repaired(clips, capsys):
    from mmviz.cli import main

    assert main(["features", str(clips["zero.mp4"])]) == 0
    out = capsys.readouterr().out
    assert "visual: 30 frames" in out
    assert "note  : " in out and "placed by index at 25 fps" in out


def test_a_window_on_a_clip_without_a_clock(clips):
    good = decode(clips["good.mp4"], window=(1.0, 2.5))
    media = decode(clips["zero.mp4"], window=(1.0, 2.5))
    np.testing.assert_allclose(media.frame_times, good.frame_times)
    np.testing.assert_array_equal(media.frames, good.frames)


@pytest.fixture(scope="module")
def vp9(tmp_path_factory):
    """7.4 s VP9 + Opus webm at 25 fps, and two copies with a broken video clock.

    webm stores no frame rate, so the repaired copies must fall back to count / duration
    (185 frames over the 7.4 s the audio lasts).
    """
    d = tmp_path_factory.mktemp("vp9")
    good = write_test_clip(d / "good.webm", duration=7.4, fps=25.0, video_codec="vp9", audio_codec="opus")
    return {
        "good": good,
        "zero": remux_video_timestamps(good, d / "zero.webm", lambda i, pts: 0),
        # a frame counter instead of a time: 1 ms per frame, the whole video "lasts" 0.185 s
        "counter": remux_video_timestamps(good, d / "counter.webm", lambda i, pts: i),
    }


@pytest.mark.parametrize("which", ["zero", "counter"])
def test_vp9_webm_without_a_usable_clock_keeps_all_its_frames(vp9, which):
    good = decode(vp9["good"])
    media = decode(vp9[which])
    assert len(good.frames) == 74
    assert media.info.frames_decoded == 185 and media.frames is not None and len(media.frames) == 74
    np.testing.assert_allclose(media.frame_times, good.frame_times)
    np.testing.assert_array_equal(media.frames, good.frames)
    assert media.info.has_audio and abs(len(media.audio) / SR - 7.4) < 0.1
    assert "placed by index at 25 fps" in _repair_warning(media)


def test_vp9_webm_without_a_clock_and_without_audio_assumes_a_rate_and_says_so(tmp_path):
    good = write_test_clip(tmp_path / "good.webm", duration=2.0, fps=25.0, video_codec="vp9", audio=False)
    zero = remux_video_timestamps(good, tmp_path / "zero.webm", lambda i, pts: 0)
    media = decode(zero)
    assert media.info.frames_decoded == 50 and media.frames is not None
    assert len(media.frames) == 17, "50 frames at the assumed 30 fps last 1.67 s: samples at 0.05 ... 1.65 s"
    w = _repair_warning(media)
    assert "assumed" in w and "30 fps" in w


@pytest.mark.parametrize("size", [(2, 2), (16, 16)])
@pytest.mark.parametrize("ext,codec", [("mp4", "h264"), ("webm", "vp9"), ("avi", "mjpeg")])
def test_tiny_frames_decode_and_give_visual_features(tmp_path, size, ext, codec):
    from mmviz.features.extract import extract_features

    path = write_clip(tmp_path / f"tiny.{ext}", blank_frames(20, size=size), 10.0, None, SR, video_codec=codec)
    media = decode(path)
    assert media.frames.shape == (20, size[1], size[0], 3) and media.info.frames_decoded == 20
    feats = extract_features(path)
    v = feats.visual
    assert v is not None and v.n_steps == 20
    assert np.all(v.column("face_present") == 0) and np.all(np.isfinite(v.column("brightness")))


@pytest.mark.slow
def test_features_of_the_7s_webm_without_a_clock_match_the_good_file(vp9):
    from mmviz.features.extract import extract_features

    t = time.perf_counter()
    good, broken = extract_features(vp9["good"]), extract_features(vp9["zero"])
    assert time.perf_counter() - t < 120
    assert broken.visual.n_steps == good.visual.n_steps == 74
    np.testing.assert_array_equal(broken.visual.values, good.visual.values)


@pytest.mark.parametrize("pts,reason", [
    ([0, 512, 1024, 1536], ""), ([1024, 0, 512, 1536], ""),  # B-frames: out of order in decode order is fine
    ([0, 0, 0, 0], "all zero"), ([64, 64, 64], "all the same"), ([0, None, 1024], "missing"),
    ([0, 512, 512, 1024], "repeated (not increasing)"), ([0, 1, 2, 3, 4], "too close together"),
])
def test_timestamp_problems_are_named(pts, reason):
    from mmviz.media.clock import _timestamp_problem

    found = _timestamp_problem(pts, 1 / 12800)
    assert found.startswith(reason) if reason else found == ""
