"""Bad input is refused with its own error type and a message that says what to do."""

from __future__ import annotations

import av
import numpy as np
import pytest

from media_fixtures import SR, blank_frames, write_test_clip
from mmviz.errors import MmvizError
from mmviz.features.extract import ExtractSettings, extract_features
from mmviz.media import errors as E
from mmviz.media.decode import check_resolution, decode
from mmviz.media.encode import write_clip
from mmviz.media.names import safe_filename


def test_zero_length_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(E.EmptyFileError, match=r"empty \(0 bytes\)"):
        decode(tmp_path / "empty.mp4")


def test_random_bytes_are_not_media(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(E.NotMediaError, match="not a media file") as info:
        decode(data, filename="noise.mp4")
    assert "mp4" in info.value.hint and isinstance(info.value, MmvizError)


@pytest.mark.parametrize("faststart", [False, True], ids=["index-at-end", "index-at-start"])
def test_file_cut_in_half_is_truncated(tmp_path, faststart):
    opts = {"movflags": "faststart"} if faststart else None
    path = write_test_clip(tmp_path / "clip.mp4", duration=4.0, container_options=opts)
    data = path.read_bytes()
    with pytest.raises(E.TruncatedMediaError, match="truncated") as info:
        decode(data[: len(data) // 2], filename="half.mp4")
    assert "complete file" in str(info.value)
    if faststart:  # the index survives, so the decoder compares claimed vs decoded duration
        assert "claims 4.0 s" in str(info.value)


def test_no_audio_and_no_video_stream(tmp_path):
    path = tmp_path / "subs.vtt"
    path.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhello there\n")
    with pytest.raises(E.NoStreamsError, match="no audio and no video stream"):
        decode(path)


def test_unsupported_container(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "still.png"), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(E.UnsupportedFormatError, match="not a supported clip format") as info:
        decode(tmp_path / "still.png")
    assert "mp4" in str(info.value)


def test_unsupported_codec(tmp_path):
    path = tmp_path / "png.mov"
    c = av.open(str(path), "w")
    s = c.add_stream("png", rate=10)
    s.width, s.height, s.pix_fmt = 64, 48, "rgb24"
    for i, f in enumerate(blank_frames(5, size=(64, 48))):
        vf = av.VideoFrame.from_ndarray(f, format="rgb24")
        vf.pts = i
        for p in s.encode(vf):
            c.mux(p)
    for p in s.encode(None):
        c.mux(p)
    c.close()
    with pytest.raises(E.UnsupportedCodecError, match="video codec 'png'") as info:
        decode(path)
    assert "libx264" in str(info.value)


def test_clip_over_the_length_limit_is_refused_with_the_limit(tmp_path):
    path = write_test_clip(tmp_path / "clip.mp4", duration=3.0)
    with pytest.raises(E.ClipTooLongError, match=r"over the limit of 2 s") as info:
        extract_features(path, settings=ExtractSettings(max_duration=2.0))
    assert "window" in str(info.value)


def test_a_window_lets_a_long_clip_through(tmp_path):
    path = write_test_clip(tmp_path / "clip.mp4", duration=3.0)
    feats = extract_features(path, settings=ExtractSettings(max_duration=2.0, window=(0.5, 2.0)))
    assert feats.media.window == (0.5, 2.0)
    assert feats.visual.times[0] == pytest.approx(0.55)


def test_bad_window_is_explained(tmp_path):
    path = write_test_clip(tmp_path / "clip.mp4", duration=2.0)
    with pytest.raises(E.BadWindowError, match="only 2.0 s long"):
        decode(path, window=(5.0, 6.0))


def test_absurd_resolution_over_8k(tmp_path):
    path = write_clip(tmp_path / "wide.avi", np.zeros((2, 16, 9000, 3), np.uint8), 10.0, None, SR, video_codec="mjpeg")
    with pytest.raises(E.BadResolutionError, match=r"9000×16 pixels, larger than the 8K limit"):
        decode(path)


def test_zero_by_zero_resolution():
    with pytest.raises(E.BadResolutionError, match="0×0, which has no pixels"):
        check_resolution(0, 0)


def test_transcript_that_is_not_utf8(tmp_path):
    path = write_test_clip(tmp_path / "clip.mp4", duration=1.0)
    side = tmp_path / "words.txt"
    side.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    with pytest.raises(E.TranscriptEncodingError, match=r"not valid UTF-8 .*0xe9") as info:
        extract_features(path, sidecar=side)
    assert "UTF-8" in info.value.hint
    with pytest.raises(E.TranscriptEncodingError, match="typed transcript"):
        extract_features(path, transcript=b"\xff\xfe bad")


@pytest.mark.parametrize("name", ["../x.mp4", "/etc/x", "..\\..\\x.mp4"])
def test_filenames_with_path_parts_are_stripped_with_a_warning(tmp_path, name):
    path = write_test_clip(tmp_path / "clip.mp4", duration=1.0)
    feats = extract_features(path.read_bytes(), filename=name)
    assert feats.clip_id == name.replace("\\", "/").split("/")[-1]
    assert any("stripped" in w for w in feats.media.warnings)


def test_filenames_with_path_parts_are_rejected_in_strict_mode(tmp_path):
    with pytest.raises(E.UnsafeFilenameError, match="directory parts"):
        safe_filename("../x.mp4", strict=True)
    path = write_test_clip(tmp_path / "clip.mp4", duration=1.0)
    with pytest.raises(E.UnsafeFilenameError):
        extract_features(path, filename="/etc/x", settings=ExtractSettings(strict_filename=True))


def test_cli_prints_the_message_not_a_traceback(tmp_path, capsys):
    from mmviz.cli import main

    (tmp_path / "empty.mp4").write_bytes(b"")
    assert main(["features", str(tmp_path / "empty.mp4")]) == 2
    err = capsys.readouterr().err
    assert "empty (0 bytes)" in err and "Traceback" not in err
