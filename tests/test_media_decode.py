"""Decoding: every listed container/codec, audio-only files, bytes input, windows, claimed vs decoded."""

from __future__ import annotations

import numpy as np
import pytest

from media_fixtures import SR, blank_frames, needs_espeak, tone, write_test_clip
from mmviz.media.decode import DecodedMedia, decode
from mmviz.media.encode import EncodeError, write_clip

VIDEO_CASES = [
    ("mp4", "h264", "aac"), ("mov", "h264", "aac"), ("m4v", "h264", "aac"), ("mkv", "h265", "aac"),
    ("webm", "vp9", "opus"), ("webm", "vp8", "opus"), ("avi", "mjpeg", "mp3"), ("mkv", "mjpeg", "flac"),
]
AUDIO_CASES = ["wav", "mp3", "m4a", "flac", "ogg"]


def _write_or_skip(path, **kw):
    try:
        return write_test_clip(path, **kw)
    except EncodeError as e:
        pytest.skip(f"this FFmpeg cannot encode {path.suffix}: {e}")


@pytest.mark.parametrize("ext,vcodec,acodec", VIDEO_CASES)
def test_video_containers_decode_to_sampled_frames_and_16k_audio(tmp_path, ext, vcodec, acodec):
    path = _write_or_skip(tmp_path / f"clip.{ext}", duration=2.0, fps=25.0, video_codec=vcodec, audio_codec=acodec)
    media = decode(path, fps=10.0)
    assert media.frames is not None and media.frames.dtype == np.uint8
    assert media.frames.shape[1:] == (240, 320, 3)
    assert 19 <= len(media.frames) <= 21, "2 s sampled at 10 fps"
    np.testing.assert_allclose(np.diff(media.frame_times), 0.1, atol=1e-6)
    assert media.sample_rate == SR and media.audio.dtype == np.float32 and media.audio.ndim == 1
    assert abs(len(media.audio) / SR - 2.0) < 0.1
    assert media.info.has_video and media.info.has_audio
    assert media.info.frames_decoded == 50 and media.info.fps_claimed == pytest.approx(25.0)


@pytest.mark.parametrize("ext", AUDIO_CASES)
def test_audio_only_files_are_valid_clips_without_frames(tmp_path, ext):
    path = _write_or_skip(tmp_path / f"voice.{ext}", duration=1.5, video=False)
    media = decode(path)
    assert media.frames is None and media.frame_times is None
    assert not media.info.has_video and media.info.has_audio
    assert abs(media.info.duration_decoded - 1.5) < 0.1
    # the tone's fundamental (220 Hz) survives decoding and resampling
    spec = np.abs(np.fft.rfft(media.audio[:SR]))
    assert abs(np.argmax(spec) - 220) < 5, "1 s window: one FFT bin per Hz"


def test_bytes_input_decodes_like_the_file_and_hashes_the_bytes(tmp_path):
    import hashlib

    path = write_test_clip(tmp_path / "clip.mp4")
    data = path.read_bytes()
    from_bytes = decode(data, filename="upload.mp4")
    from_path = decode(path)
    assert from_bytes.info.filename == "upload.mp4"
    np.testing.assert_array_equal(from_bytes.frames, from_path.frames)
    assert from_bytes.content_hash == from_path.content_hash == hashlib.sha256(data).hexdigest()


def test_window_decodes_only_the_chosen_span(tmp_path):
    path = write_test_clip(tmp_path / "long.mp4", duration=4.0)
    media = decode(path, window=(1.0, 2.5))
    assert media.frame_times[0] == pytest.approx(1.05) and media.frame_times[-1] == pytest.approx(2.45)
    assert len(media.audio) == int(1.5 * SR)
    assert media.info.window == (1.0, 2.5)
    assert media.audio_start == 1.0


def test_claimed_versus_decoded_info_is_reported(tmp_path):
    path = write_test_clip(tmp_path / "clip.mp4", duration=3.0, fps=15.0)
    info = decode(path).info
    assert "mp4" in info.container
    assert info.duration_claimed == pytest.approx(3.0, abs=0.1)
    assert info.duration_decoded == pytest.approx(3.0, abs=0.1)
    assert info.frames_claimed == 45 and info.frames_decoded == 45
    assert (info.width, info.height) == (320, 240) and info.video_codec == "h264" and info.audio_codec == "aac"


def test_frame_count_is_estimated_when_the_container_does_not_store_it(tmp_path):
    info = decode(write_test_clip(tmp_path / "clip.mkv", duration=3.0, fps=15.0)).info
    assert info.frames_decoded == 45
    assert abs(info.frames_claimed - 45) <= 1, "matroska has no frame count: duration × rate"


def test_large_frames_are_downscaled_for_analysis(tmp_path):
    path = write_clip(tmp_path / "hd.mp4", blank_frames(5, size=(1280, 720)), 10.0, None, SR)
    media = decode(path, max_pixels=320 * 180)
    assert media.frames.shape[1:3] == (180, 320)
    assert (media.info.width, media.info.height) == (1280, 720)


def test_from_arrays_wraps_in_memory_clips():
    frames = blank_frames(30)
    media = DecodedMedia.from_arrays(frames, 15.0, tone(2.0, sr=22050), 22050, "gen.mp4")
    assert media.fps == pytest.approx(15.0) and media.sample_rate == SR
    assert len(media.audio) == 2 * SR and media.info.container == "memory"
    assert media.info.duration_decoded == pytest.approx(2.0)


@needs_espeak
def test_speak_returns_mono_float_speech():
    from mmviz.media.speech import speak

    audio, sr = speak("hello world")
    assert sr == 22050 and audio.dtype == np.float32 and audio.ndim == 1
    assert 0.5 < len(audio) / sr < 3 and np.abs(audio).max() > 0.1


def test_speak_without_espeak_says_how_to_install(monkeypatch):
    import shutil

    from mmviz.media.speech import SpeechSynthMissing, speak

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SpeechSynthMissing, match="apt-get install espeak-ng"):
        speak("hello")


def test_on_frame_streams_the_sampled_frames_instead_of_keeping_them(tmp_path):
    """extract_features describes each frame as it decodes: a long clip never holds all its frames."""
    path = write_test_clip(tmp_path / "clip.mp4", duration=2.0, fps=25.0)
    kept = decode(path)
    seen: list[tuple[np.ndarray, float]] = []
    streamed = decode(path, on_frame=lambda frame, t: seen.append((frame, t)))
    assert streamed.frames is None and streamed.info.has_video
    np.testing.assert_array_equal(streamed.frame_times, kept.frame_times)
    assert [t for _, t in seen] == list(kept.frame_times)
    np.testing.assert_array_equal(np.stack([f for f, _ in seen]), kept.frames)
