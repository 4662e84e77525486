"""One clip in, one ClipFeatures record out: decode → audio / visual descriptors → transcript.

The public function follows the project's four steps: normalise inputs (path, bytes or an
in-memory DecodedMedia) → validate (user-facing errors from the media layer) → compute →
build the record. Nothing here imports torch or the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mmviz.records.features import ClipFeatures, TimedMatrix, Word
from mmviz.media.decode import DecodedMedia
from mmviz.validate import FPS, HOP, PIXELS, SECONDS_POSITIVE, check_number

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ExtractSettings:
    """How features are extracted; stored in every ClipFeatures.settings.

    hop: audio step, seconds. fps: visual sampling rate (frames per second).
    max_duration: longest clip accepted without a window, seconds (default 10 min).
    window: (start, end) seconds to process only part of the clip, or None for all of it.
    max_pixels: sampled frames are downscaled to at most this many pixels for analysis.
    strict_filename: reject (instead of strip) a filename with directory parts.
    """

    hop: float = 0.1
    fps: float = 10.0
    max_duration: float = 600.0
    window: tuple[float, float] | None = None
    max_pixels: int = 640 * 360
    strict_filename: bool = False

    def __post_init__(self) -> None:
        """Refuse numbers that would hang or divide by zero later (fps <= 0, hop = 0, ...)."""
        check_number("hop (seconds per audio step)", self.hop, HOP)
        check_number("fps (frames per second)", self.fps, FPS)
        check_number("max_duration (seconds)", self.max_duration, SECONDS_POSITIVE)
        check_number("max_pixels", self.max_pixels, PIXELS)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["window"] = list(self.window) if self.window is not None else None
        return d


def extraction_key(settings: ExtractSettings | None = None) -> str:
    """The settings part of a stored ClipFeatures' key: the settings *and* the descriptor version.

    Why the version: the default settings never change, but what the extractor computes does
    (speaker-relative prosody added columns); features stored by an older extractor must not
    be handed to a model that reads the new columns.
    """
    from mmviz.features.audio import AUDIO_DESCRIPTORS_VERSION
    from mmviz.records.keys import settings_key

    return settings_key({"settings": settings_key(settings), "audio_descriptors": AUDIO_DESCRIPTORS_VERSION})


def _noop(stage: str, fraction: float) -> None:
    return None


def _hash_arrays(media: DecodedMedia) -> str:
    """Content hash of an in-memory clip: its frames, audio and their rates."""
    h = hashlib.sha256(b"mmviz-arrays-v1")
    for arr in (media.frames, media.frame_times, media.audio):
        if arr is not None:
            a = np.ascontiguousarray(arr)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
    h.update(str(media.sample_rate).encode())
    return h.hexdigest()


def _resample_frames(media: DecodedMedia, fps: float, window: tuple[float, float] | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Frames at (k + 0.5) / rate (rate ≤ fps), each the frame showing at that time; window-clipped."""
    fr, t = media.frames, media.frame_times
    if fr is None or t is None or len(fr) == 0:
        return None, None
    src = media.fps or fps
    rate = min(fps, src)
    start = window[0] if window else 0.0
    end = window[1] if window else float(t[-1] + 0.5 / src)
    grid = start + (np.arange(int(np.floor((end - start) * rate + 1e-6))) + 0.5) / rate
    if grid.size == 0:
        return None, None
    if abs(rate - src) < 1e-6 and len(t) == len(grid) and np.allclose(t, grid):
        return fr, t
    idx = np.clip(np.searchsorted(t - 0.5 / src, grid, side="right") - 1, 0, len(fr) - 1)
    return fr[idx], grid


def extract_features(
    source: str | Path | bytes | DecodedMedia,
    *,
    transcript: str | bytes | None = None,
    sidecar: str | Path | None = None,
    asr: bool = False,
    settings: ExtractSettings | None = None,
    filename: str | None = None,
    progress: Progress | None = None,
) -> ClipFeatures:
    """Decode ``source`` and compute its timed audio, visual and transcript features.

    transcript: typed plain text (words are spread over speech, estimated=True). sidecar: a
    .txt/.srt/.vtt file. asr: recognise words with pocketsphinx when no transcript/sidecar is
    given. Precedence: transcript > sidecar > asr > none. filename: display name (directory
    parts are stripped with a warning, or rejected with settings.strict_filename).
    progress(stage, fraction) is called as stages finish. Raises MediaError subclasses for bad
    input (see mmviz.media.errors).
    """
    from mmviz.features.audio import AUDIO_DESCRIPTORS_VERSION, audio_features, n_steps
    from mmviz.features.visual import DETECTOR, FrameDescriber, visual_features
    from mmviz.media.decode import decode
    from mmviz.media.names import safe_filename
    from mmviz.transcript.align import spread_words, voiced_segments
    from mmviz.transcript.sidecar import decode_text, read_sidecar

    settings = settings or ExtractSettings()
    report = progress or _noop
    if filename is not None:
        safe_filename(filename, strict=settings.strict_filename)
    if isinstance(transcript, (bytes, bytearray)):
        transcript = decode_text(bytes(transcript), "typed transcript")
    side = read_sidecar(sidecar) if sidecar is not None and transcript is None else None

    # --- decode (file sources: visual descriptors as each sampled frame decodes) ---
    report("decode", 0.0)
    describer: FrameDescriber | None = None
    if isinstance(source, DecodedMedia):
        media = source
        if filename is not None:
            name, warning = safe_filename(filename)
            media = dataclasses.replace(media, info=dataclasses.replace(
                media.info, filename=name, warnings=media.info.warnings + ((warning,) if warning else ())))
        _check_memory_media(media, settings)
        content_hash = media.content_hash or _hash_arrays(media)
        frames, frame_times = _resample_frames(media, settings.fps, settings.window)
        audio, audio_start = _window_audio(media, settings.window)
    else:
        # Why stream: holding every sampled frame of a 10 min clip costs over a GB; each frame
        # is described as it decodes and dropped, and only its row of descriptors is kept.
        describer = FrameDescriber()
        media = decode(source, fps=settings.fps, window=settings.window, max_duration=settings.max_duration,
                       max_pixels=settings.max_pixels, filename=filename, on_frame=lambda frame, t: describer.add(frame))
        content_hash = media.content_hash or ""
        frames, frame_times = None, media.frame_times
        audio, audio_start = media.audio, media.audio_start
    info = media.info
    start = settings.window[0] if settings.window else 0.0
    duration = float(info.duration_decoded) if not isinstance(source, DecodedMedia) or not settings.window else \
        float(min(settings.window[1], info.duration_decoded) - start)
    if settings.window and isinstance(source, DecodedMedia):
        info = dataclasses.replace(info, window=(float(settings.window[0]), float(start + duration)), duration_decoded=duration)
    report("decode", 1.0)

    # --- audio ---
    a_mat: TimedMatrix | None = None
    if audio is not None and len(audio) > 0:
        report("audio", 0.0)
        a_mat = audio_features(audio, media.sample_rate, hop=settings.hop, start=audio_start,
                               duration=max(duration, len(audio) / media.sample_rate) if duration > 0 else None)
        a_mat = _trim_steps(a_mat, n_steps(duration, settings.hop)) if duration > 0 else a_mat
        report("audio", 1.0)

    # --- visual ---
    v_mat: TimedMatrix | None = None
    step = 1.0 / min(settings.fps, media.fps or settings.fps)
    if describer is not None and frame_times is not None and len(frame_times) > 0:
        report("visual", 0.0)
        v_mat = describer.matrix(frame_times, step=step)
        report("visual", 1.0)
    elif frames is not None and len(frames) > 0:
        report("visual", 0.0)
        v_mat = visual_features(frames, frame_times, step=step)
        report("visual", 1.0)

    # --- transcript ---
    report("transcript", 0.0)
    words, source_kind = _transcript(transcript, side, asr, audio, media.sample_rate, audio_start, a_mat, duration, start,
                                     spread_words, voiced_segments)
    report("transcript", 1.0)

    settings_dict = settings.to_dict() | {"detector": DETECTOR, "pitch": "librosa.pyin 60-500 Hz @8 kHz",
                                          "audio_descriptors": AUDIO_DESCRIPTORS_VERSION}
    return ClipFeatures(
        clip_id=info.filename, content_hash=content_hash, audio=a_mat, visual=v_mat, words=words,
        transcript_source=source_kind, media=info, settings=settings_dict,
    )


def _check_memory_media(media: DecodedMedia, settings: ExtractSettings) -> None:
    """The same length/window rules for in-memory clips as for files."""
    from mmviz.media.decode import _resolve_window

    _resolve_window(settings.window, media.info.duration_decoded, settings.max_duration, media.info.filename)
    if media.frames is not None and media.frames.ndim == 4:
        from mmviz.media.decode import check_resolution

        check_resolution(int(media.frames.shape[2]), int(media.frames.shape[1]))


def _window_audio(media: DecodedMedia, window: tuple[float, float] | None) -> tuple[np.ndarray | None, float]:
    if media.audio is None:
        return None, 0.0
    if window is None:
        return media.audio, media.audio_start
    sr = media.sample_rate
    a = int(round((window[0] - media.audio_start) * sr))
    b = int(round((window[1] - media.audio_start) * sr))
    return media.audio[max(0, a):max(0, b)], float(window[0])


def _trim_steps(m: TimedMatrix, T: int) -> TimedMatrix:
    if m.n_steps <= T:
        return m
    return TimedMatrix(m.values[:T], m.names, m.times[:T], m.step)


def _transcript(transcript, side, asr, audio, sr, audio_start, a_mat, duration, start, spread_words, voiced_segments):
    """(words, source) by precedence typed > sidecar > asr > none."""
    def spread(text: str) -> tuple[Word, ...]:
        segs = []
        if a_mat is not None:
            segs = voiced_segments(a_mat.column("speaking"), a_mat.times, a_mat.step)
        words = spread_words(text, segs, duration=duration)
        if not segs and start:
            words = tuple(dataclasses.replace(w, start=w.start + start, end=w.end + start) for w in words)
        return words

    if transcript is not None:
        return spread(transcript), "typed"
    if side is not None:
        return (side.words if side.words is not None else spread(side.text)), "sidecar"
    if asr and audio is not None and len(audio) > 0:
        from mmviz.transcript.asr import recognise

        return recognise(audio, sr, offset=audio_start), "asr"
    return (), "none"
