"""Decode a clip (path or bytes) into sampled RGB frames, 16 kHz mono audio and MediaInfo.

Why this shape: the feature extractors only need a few frames per second and mono speech-band
audio, so decoding converts *only the sampled frames* to arrays (downscaled for analysis) and
resamples audio on the fly. Every frame is still decoded (inter-coded video needs it), but
colour conversion and scaling — most of the cost of naive decoding — happen ~10 times a second.

The decoder also checks the clip against what its container claims; a clip that decodes
noticeably less than it claims is treated as truncated (a cut-off download) and refused.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from mmviz.records.features import MediaInfo
from mmviz.media import errors as E
from mmviz.media.clock import ClockPlan, plan_clock
from mmviz.media.names import safe_filename
from mmviz.validate import FPS, PIXELS, POSITIVE, SAMPLE_RATE, SECONDS_POSITIVE, check_number

TARGET_SR = 16000
#: container formats accepted (PyAV/FFmpeg demuxer names)
SUPPORTED_FORMATS = ("mov", "mp4", "m4a", "matroska", "webm", "avi", "wav", "mp3", "flac", "ogg", "aac")
#: decoders accepted per stream type (FFmpeg decoder names)
SUPPORTED_VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "mjpeg", "av1", "libdav1d", "mpeg4")
SUPPORTED_AUDIO_CODECS = ("aac", "mp3", "mp3float", "opus", "libopus", "vorbis", "libvorbis", "flac", "alac")
#: a frame larger than this on either side (or with more pixels than 8K UHD) is refused
MAX_SIDE = 8192
MAX_PIXELS_TOTAL = 7680 * 4320
#: fraction of the claimed duration that must decode, else the file is called truncated
MIN_DECODED_FRACTION = 0.9


@dataclass(frozen=True)
class DecodedMedia:
    """A decoded clip, on the clip's clock.

    frames: uint8 (N, H, W, 3) RGB, sampled at a fixed rate (and downscaled for analysis), or
        None for an audio-only clip — and None when the frames were streamed to ``on_frame``
        instead of kept (see :func:`decode`); ``info.has_video`` tells the two apart.
    frame_times: float64 (N,) seconds of each sampled frame, or None for an audio-only clip.
    audio: float32 (S,) mono in [-1, 1] at ``sample_rate``, or None when there is no audio.
    audio_start: seconds on the clip's clock of ``audio[0]`` (the window start).
    content_hash: sha256 of the source bytes when decoded from a file, else None.
    """

    frames: np.ndarray | None
    frame_times: np.ndarray | None
    audio: np.ndarray | None
    sample_rate: int
    info: MediaInfo
    audio_start: float = 0.0
    content_hash: str | None = None

    @property
    def fps(self) -> float | None:
        """Sampling rate of ``frames`` (frames per second), from the time axis."""
        if self.frame_times is None or len(self.frame_times) < 2:
            return None
        return float(1.0 / np.median(np.diff(self.frame_times)))

    @classmethod
    def from_arrays(cls, frames: np.ndarray | None, fps: float, audio: np.ndarray | None, sr: int,
                    filename: str = "clip") -> "DecodedMedia":
        """Wrap in-memory frames (N, H, W, 3) uint8 RGB at ``fps`` and mono audio at ``sr``.

        For generators that never write a file. Frames keep their rate (the extractor samples
        them); audio is resampled to 16 kHz. Times are frame centres: (i + 0.5) / fps.
        """
        from scipy.signal import resample_poly

        fps = check_number("fps", fps, POSITIVE) if frames is not None else fps
        sr = check_number("sample rate", sr, SAMPLE_RATE) if audio is not None else sr
        name, warning = safe_filename(filename)
        fr = None if frames is None else np.ascontiguousarray(frames, dtype=np.uint8)
        if fr is not None and (fr.ndim != 4 or fr.shape[-1] != 3):
            raise ValueError(f"frames must be (N, H, W, 3) uint8 RGB, got {fr.shape}")
        times = None if fr is None else (np.arange(len(fr)) + 0.5) / float(fps)
        au = None
        if audio is not None:
            au = np.asarray(audio, dtype=np.float32).reshape(-1)
            if int(sr) != TARGET_SR:
                g = math.gcd(int(sr), TARGET_SR)
                au = resample_poly(au, TARGET_SR // g, int(sr) // g).astype(np.float32)
        dur_v = 0.0 if fr is None else len(fr) / float(fps)
        dur_a = 0.0 if au is None else len(au) / TARGET_SR
        info = MediaInfo(
            filename=name, container="memory", duration_claimed=max(dur_v, dur_a), duration_decoded=max(dur_v, dur_a),
            has_video=fr is not None, has_audio=au is not None, video_codec="raw" if fr is not None else None,
            audio_codec="pcm_f32" if au is not None else None,
            width=None if fr is None else int(fr.shape[2]), height=None if fr is None else int(fr.shape[1]),
            fps_claimed=float(fps) if fr is not None else None, frames_claimed=None if fr is None else len(fr),
            frames_decoded=None if fr is None else len(fr), sample_rate=TARGET_SR if au is not None else None,
            warnings=(warning,) if warning else (),
        )
        return cls(fr, times, au, TARGET_SR, info)


def check_resolution(width: int, height: int) -> None:
    """Refuse 0×0 and larger-than-8K frames before decoding any of them."""
    if width <= 0 or height <= 0:
        raise E.BadResolutionError(f"The video stream reports a frame size of {width}×{height}, which has no pixels.",
                                   hint=E.REENCODE_HINT)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS_TOTAL:
        raise E.BadResolutionError(
            f"The video is {width}×{height} pixels, larger than the 8K limit (7680×4320, at most {MAX_SIDE} on a side).",
            hint="Scale it down, e.g. `ffmpeg -i input -vf scale=1920:-2 output.mp4`, and try again.")


def analysis_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """Even (w, h) with the same aspect and at most ``max_pixels`` pixels."""
    scale = min(1.0, math.sqrt(max_pixels / float(width * height)))
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    return w, h


@dataclass
class _Source:
    """Bytes or a path, re-openable (we open once per stream)."""

    path: Path | None
    data: bytes | None
    size: int
    head: bytes = field(default=b"")

    def open(self):
        import av

        return av.open(str(self.path)) if self.path is not None else av.open(io.BytesIO(self.data))


def _normalise_source(source: str | Path | bytes | bytearray | memoryview) -> tuple[_Source, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return _Source(None, data, len(data), data[:64]), "clip"
    path = Path(source)
    if not path.is_file():
        raise E.MediaError(f"No file at {str(path)!r}.", hint="Check the path and try again.")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(64)
    return _Source(path, None, size, head), path.name


def _looks_like_container(head: bytes) -> str | None:
    """Name the container a file's first bytes announce (to tell 'truncated' from 'not media')."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        return "MP4/MOV"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    if head[:4] == b"RIFF":
        return "AVI/WAV"
    if head[:4] in (b"OggS", b"fLaC") or head[:3] == b"ID3":
        return "audio"
    return None


def _open(src: _Source, name: str):
    """Open the container, turning FFmpeg's errors into user-facing ones."""
    import av

    if src.size == 0:
        raise E.EmptyFileError(f"{name!r} is empty (0 bytes).", hint="The upload or copy probably failed; choose the file again.")
    try:
        return src.open()
    except (av.error.FFmpegError, OSError, ValueError) as e:
        announced = _looks_like_container(src.head)
        if announced:
            raise E.TruncatedMediaError(
                f"{name!r} starts like a {announced} file but its index could not be read ({getattr(e, 'strerror', None) or e}); "
                "the file is probably truncated (cut off while downloading or copying).",
                hint="Copy or download the complete file again.") from e
        raise E.NotMediaError(f"{name!r} is not a media file FFmpeg can read: its bytes are not any known audio or video format.",
                              hint="Choose a video (mp4, mov, webm, mkv, avi) or audio (wav, mp3, m4a, flac, ogg) file.") from e


def _check_container(container, name: str) -> tuple[object | None, object | None]:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise E.NoStreamsError(f"{name!r} has no audio and no video stream (streams found: {', '.join(kinds)}).",
                               hint="Choose a file that contains sound or pictures.")
    fmt_names = set(container.format.name.split(","))
    if not fmt_names & set(SUPPORTED_FORMATS):
        raise E.UnsupportedFormatError(
            f"{name!r} is a {container.format.long_name or container.format.name} file, which is not a supported clip format.",
            hint="Use mp4, mov, m4v, webm, mkv or avi for video, or wav, mp3, m4a, flac or ogg for audio. " + E.REENCODE_HINT)
    if video is not None:
        vname = video.codec_context.name
        if vname not in SUPPORTED_VIDEO_CODECS:
            raise E.UnsupportedCodecError(
                f"{name!r} uses the video codec {vname!r}, which is not supported (supported: H.264, H.265, VP8, VP9, MJPEG, AV1, MPEG-4).",
                hint=E.REENCODE_HINT)
        check_resolution(video.codec_context.width, video.codec_context.height)
    if audio is not None and audio.codec_context.name not in SUPPORTED_AUDIO_CODECS and not audio.codec_context.name.startswith("pcm_"):
        raise E.UnsupportedCodecError(
            f"{name!r} uses the audio codec {audio.codec_context.name!r}, which is not supported (supported: AAC, MP3, Opus, Vorbis, FLAC, PCM).",
            hint=E.REENCODE_HINT)
    return video, audio


def _claimed(container, video, audio) -> tuple[float | None, float | None, int | None]:
    dur = container.duration / 1e6 if container.duration else None
    fps = float(video.average_rate) if video is not None and video.average_rate else None
    frames = int(video.frames) if video is not None and video.frames else None
    if dur is None:
        for s in (video, audio):
            if s is not None and s.duration and s.time_base:
                dur = float(s.duration * s.time_base)
                break
    if frames is None and dur is not None and fps:
        frames = int(round(dur * fps))
    return dur, fps, frames


def decode(source: str | Path | bytes, **kwargs) -> "DecodedMedia":
    """Decode ``source`` into frames sampled at ``fps`` and 16 kHz mono audio.

    Keyword arguments (see :func:`_decode`): fps=10.0, window=None, max_duration=600.0,
    max_pixels=640*360, filename=None, on_frame=None. Every FFmpeg failure becomes a user-facing
    :class:`mmviz.media.errors.MediaError` subclass; nothing escapes as a raw traceback, and a
    setting out of range is a :class:`mmviz.validate.InvalidSettingError`.
    """
    import av

    try:
        return _decode(source, **kwargs)
    except av.error.FFmpegError as e:
        name = kwargs.get("filename") or (Path(source).name if isinstance(source, (str, Path)) else "clip")
        raise E.MediaError(f"{name!r} could not be decoded: {e}", hint=E.REENCODE_HINT) from e


def _decode(
    source: str | Path | bytes,
    *,
    fps: float = 10.0,
    window: tuple[float, float] | None = None,
    max_duration: float = 600.0,
    max_pixels: int = 640 * 360,
    filename: str | None = None,
    on_frame: Callable[[np.ndarray, float], None] | None = None,
) -> DecodedMedia:
    """Decode ``source`` into frames sampled at ``fps`` and 16 kHz mono audio.

    window: (start, end) seconds — decode only that span (also the way to use part of a clip
        longer than ``max_duration``). max_pixels: sampled frames are downscaled to at most this
        many pixels. filename: display name (directory parts are stripped, with a warning).
    on_frame(frame, time): when given, each sampled RGB frame is handed to it as soon as it is
        decoded and then dropped, so a long clip never holds all its frames (the result's
        ``frames`` is None, ``frame_times`` still lists every sampled time).
    Raises a :class:`mmviz.media.errors.MediaError` subclass for every kind of bad input.
    """
    import hashlib

    fps = check_number("fps (frames per second)", fps, FPS)
    max_duration = check_number("max_duration (seconds)", max_duration, SECONDS_POSITIVE)
    max_pixels = check_number("max_pixels", max_pixels, PIXELS)
    src, default_name = _normalise_source(source)
    name, name_warning = safe_filename(filename or default_name)
    warnings = [name_warning] if name_warning else []
    container = _open(src, name)
    try:
        video, audio = _check_container(container, name)
        dur_claimed, fps_claimed, frames_claimed = _claimed(container, video, audio)
        fmt = container.format.name
        clock = plan_clock(container, video, audio, dur_claimed) if video is not None else None
    finally:
        container.close()
    start, end = _resolve_window(window, dur_claimed, max_duration, name)

    frames = times = None
    frames_decoded = None
    v_end = 0.0
    if video is not None:
        frames, times, frames_decoded, v_end, notes = _decode_video(
            src, name, fps, start, end, max_pixels, clock, max_duration, on_frame)
        warnings.extend(notes)
    au = None
    if audio is not None:
        au = _decode_audio(src, name, start, end)
    a_end = start + (0.0 if au is None else len(au) / TARGET_SR)
    dur_decoded = max(v_end, a_end) - start
    if dur_claimed is not None:
        expected = min(end if end is not None else dur_claimed, dur_claimed) - start
        if expected > 0.5 and dur_decoded < MIN_DECODED_FRACTION * expected:
            raise E.TruncatedMediaError(
                f"{name!r} is truncated: the container claims {expected:.1f} s but only {dur_decoded:.1f} s "
                f"({100 * dur_decoded / expected:.0f}%) could be decoded.",
                hint="Copy or download the complete file again.")
    if end is None and dur_decoded > max_duration:
        raise _too_long(name, dur_decoded, max_duration)
    if video is not None and len(times) == 0 and au is None:
        raise E.TruncatedMediaError(f"{name!r} has a video stream but no frame could be decoded.",
                                    hint="Copy or download the complete file again.")
    if video is not None and len(times) == 0:
        warnings.append("The video stream produced no frames in the chosen window; using audio only.")
        frames = times = None
    digest = hashlib.sha256()
    if src.data is not None:
        digest.update(src.data)
    else:
        with open(src.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    vctx = video.codec_context if video is not None else None
    info = MediaInfo(
        filename=name, container=fmt, duration_claimed=dur_claimed, duration_decoded=float(dur_decoded),
        has_video=times is not None, has_audio=au is not None,
        video_codec=vctx.name if vctx is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
        width=vctx.width if vctx is not None else None, height=vctx.height if vctx is not None else None,
        fps_claimed=fps_claimed, frames_claimed=frames_claimed, frames_decoded=frames_decoded,
        sample_rate=audio.codec_context.sample_rate if audio is not None else None,
        window=(start, end if end is not None else start + float(dur_decoded)) if window is not None else None,
        warnings=tuple(warnings),
    )
    return DecodedMedia(frames, times, au, TARGET_SR, info, audio_start=start, content_hash=digest.hexdigest())


def _too_long(name: str, duration: float, limit: float) -> E.ClipTooLongError:
    return E.ClipTooLongError(
        f"{name!r} is {duration:.0f} s long, over the limit of {limit:.0f} s ({limit / 60:.0f} min).",
        hint="Choose a window (start and end seconds) to process only part of it, or trim the clip.")


def _resolve_window(window, dur_claimed, max_duration, name) -> tuple[float, float | None]:
    if window is None:
        if dur_claimed is not None and dur_claimed > max_duration:
            raise _too_long(name, dur_claimed, max_duration)
        return 0.0, None
    start, end = float(window[0]), float(window[1])
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
        raise E.BadWindowError(f"The window [{start}, {end}] s is empty or negative.",
                               hint="Give a start ≥ 0 and an end after it, in seconds.")
    if dur_claimed is not None and start >= dur_claimed:
        raise E.BadWindowError(f"The window starts at {start:.1f} s but {name!r} is only {dur_claimed:.1f} s long.",
                               hint="Choose a start inside the clip.")
    if end - start > max_duration:
        raise E.BadWindowError(f"The window is {end - start:.0f} s long, over the limit of {max_duration:.0f} s.",
                               hint="Choose a shorter window.")
    return start, end


def _seek(container, stream, start: float) -> None:
    if start > 0:
        container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)


def _decode_video(src, name, fps, start, end, max_pixels, clock: ClockPlan, max_duration, on_frame):
    """Decode every frame, convert only those showing at the sample times start + (k + 0.5) / rate.

    Frame times come from ``clock``: the file's timestamps, or the frame index when they cannot
    be a clock (then nothing is seeked: decoding starts at frame 0). A timestamp that is missing
    or goes backwards in an otherwise good stream is placed one frame after the previous one.
    Returns (frames or None when streamed to ``on_frame``, times, frames decoded, end of the
    last frame, warnings).
    """
    import av

    container = src.open()
    out: list[np.ndarray] = []
    times: list[float] = []
    n_decoded = n_repaired = 0
    last_time = start
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = min(float(fps), clock.rate) if clock.rate else float(fps)
        period = 1.0 / rate
        native = 1.0 / clock.rate if clock.rate else period
        w, h = analysis_size(stream.codec_context.width, stream.codec_context.height, max_pixels)
        if not clock.by_index:
            _seek(container, stream, start)

        def emit(frame, k: int) -> None:
            arr = frame.to_ndarray(width=w, height=h, format="rgb24")
            t_sample = start + (k + 0.5) * period
            if on_frame is not None:
                on_frame(arr, t_sample)
            else:
                out.append(arr)
            times.append(t_sample)

        k = 0
        prev = None
        t_prev: float | None = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                if clock.by_index:
                    t = index / clock.rate
                else:
                    t = float(frame.time) if frame.pts is not None and frame.time is not None else None
                    if t is None or (t_prev is not None and t <= t_prev):
                        t = start if t_prev is None else t_prev + native
                        n_repaired += 1
                t_prev = t
                if t < start - 1e-6 and prev is None:
                    prev = frame  # the frame showing at the window start
                    continue
                if end is not None and t >= end:
                    break
                if end is None and t > max_duration + 1.0:
                    raise _too_long(name, t, max_duration)  # the container under-stated its length
                n_decoded += 1
                last_time = max(last_time, t + native)
                while prev is not None and start + (k + 0.5) * period < t - 1e-6:
                    emit(prev, k)
                    k += 1
                prev = frame
        except av.error.FFmpegError as e:  # corrupt tail: keep what decoded
            if n_decoded == 0:
                raise E.TruncatedMediaError(f"{name!r} could not be decoded: {e}", hint="Copy or download the complete file again.") from e
        stop = last_time if end is None else min(end, last_time)
        while prev is not None and start + (k + 0.5) * period < stop:
            emit(prev, k)
            k += 1
    finally:
        container.close()
    notes = [clock.warning()] if clock.warning() else []
    if n_repaired:
        notes.append(f"{n_repaired} of {n_decoded} frame timestamps were missing or went backwards; "
                     f"those frames were placed {native:.3g} s after the frame before.")
    frames = None if on_frame is not None else (np.stack(out) if out else np.zeros((0, h, w, 3), np.uint8))
    return frames, np.asarray(times, dtype=np.float64), n_decoded, last_time, notes


def _decode_audio(src, name, start, end) -> np.ndarray:
    """All audio in [start, end), resampled to 16 kHz mono float32."""
    import av

    container = src.open()
    chunks: list[np.ndarray] = []
    try:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_SR)
        _seek(container, stream, start)
        first_t: float | None = None
        try:
            for frame in container.decode(stream):
                if first_t is None:
                    first_t = float(frame.time) if frame.time is not None else 0.0
                for rf in resampler.resample(frame):
                    chunks.append(rf.to_ndarray().reshape(-1))
                if end is not None and frame.time is not None and frame.time > end + 0.1:
                    break
        except av.error.FFmpegError:
            pass  # truncated tail: the caller compares decoded vs claimed duration
        for rf in resampler.resample(None):
            chunks.append(rf.to_ndarray().reshape(-1))
    finally:
        container.close()
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    # Trim to the window on the 16 kHz clock (first decoded frame may start before `start`).
    offset = int(round((start - (first_t or 0.0)) * TARGET_SR)) if start > 0 else 0
    audio = audio[max(0, offset):]
    if end is not None:
        audio = audio[: int(round((end - start) * TARGET_SR))]
    return np.ascontiguousarray(audio)


__all__ = ["DecodedMedia", "decode", "check_resolution", "analysis_size", "TARGET_SR"]
