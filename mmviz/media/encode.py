"""Write frames + audio to a media file with PyAV.

Why here: the demo-corpus generator, the tests and the benchmark all need real files in many
containers/codecs, and they should all go through one writer so a file that fails to decode
points at the decoder, not at three different hand-rolled encoders.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from mmviz.errors import MmvizError

#: container (file suffix) -> PyAV format name
_FORMATS = {
    ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
    ".avi": "avi", ".wav": "wav", ".mp3": "mp3", ".m4a": "ipod", ".flac": "flac", ".ogg": "ogg",
}
#: short codec names accepted by write_clip -> PyAV encoder name
_VIDEO_ENCODERS = {"h264": "libx264", "libx264": "libx264", "h265": "libx265", "hevc": "libx265",
                   "libx265": "libx265", "vp8": "libvpx", "libvpx": "libvpx", "vp9": "libvpx-vp9",
                   "libvpx-vp9": "libvpx-vp9", "mjpeg": "mjpeg"}
_AUDIO_ENCODERS = {"aac": "aac", "opus": "libopus", "libopus": "libopus", "vorbis": "vorbis",
                   "libvorbis": "libvorbis", "mp3": "libmp3lame", "libmp3lame": "libmp3lame",
                   "flac": "flac", "pcm": "pcm_s16le", "pcm_s16le": "pcm_s16le"}
#: audio codec that fits each audio-only container when the caller keeps the default "aac"
_AUDIO_DEFAULT_FOR = {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".flac": "flac", ".ogg": "libopus",
                      ".webm": "libopus", ".avi": "libmp3lame"}
_AUDIO_ONLY = {".wav", ".mp3", ".m4a", ".flac", ".ogg"}


class EncodeError(MmvizError):
    """A clip could not be written (unknown container/codec, or encoder missing in this FFmpeg)."""

    kind = "encode"


def _video_encoder(name: str, suffix: str) -> str:
    if suffix == ".webm" and name in ("h264", "libx264"):
        name = "vp9"  # webm only carries VP8/VP9/AV1
    if suffix == ".avi" and name in ("h264", "libx264"):
        name = "mjpeg"
    enc = _VIDEO_ENCODERS.get(name)
    if enc is None:
        raise EncodeError(f"Unknown video codec {name!r}.", hint=f"Use one of {sorted(set(_VIDEO_ENCODERS))}.")
    return enc


def _audio_encoder(name: str, suffix: str) -> str:
    if name == "aac" and suffix in _AUDIO_DEFAULT_FOR:
        return _AUDIO_DEFAULT_FOR[suffix]
    enc = _AUDIO_ENCODERS.get(name)
    if enc is None:
        raise EncodeError(f"Unknown audio codec {name!r}.", hint=f"Use one of {sorted(set(_AUDIO_ENCODERS))}.")
    return enc


def write_clip(
    path: str | Path,
    frames: np.ndarray | None,
    fps: float,
    audio: np.ndarray | None,
    sample_rate: int,
    *,
    video_codec: str = "h264",
    audio_codec: str = "aac",
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode ``frames`` (N, H, W, 3) uint8 RGB at ``fps`` and mono float32 ``audio``.

    The container comes from the suffix (.mp4 .mov .m4v .mkv .webm .avi, or audio-only
    .wav .mp3 .m4a .flac .ogg, where ``frames`` is ignored). Codec defaults adapt to the
    container (webm → vp9/opus, avi → mjpeg/mp3, wav → pcm). Odd frame sizes are cropped by one
    pixel for yuv420p codecs. container_options go to the muxer, e.g.
    ``{"movflags": "faststart"}`` puts the mp4 index first. Returns the path written.
    """
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise EncodeError(f"Cannot write {path.name!r}: unknown container {suffix!r}.", hint=f"Use one of {sorted(_FORMATS)}.")
    audio_only = suffix in _AUDIO_ONLY
    if audio_only:
        frames = None
    if frames is None and audio is None:
        raise EncodeError("Nothing to write: no frames and no audio.")
    if frames is not None:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise EncodeError(f"frames must be (N, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        container = av.open(str(path), mode="w", format=_FORMATS[suffix], options=container_options or {})
    except Exception as e:  # noqa: BLE001
        raise EncodeError(f"Cannot open {path} for writing: {e}") from e
    try:
        vstream = astream = None
        if frames is not None:
            venc = _video_encoder(video_codec, suffix)
            rate = Fraction(fps).limit_denominator(1001)
            vstream = container.add_stream(venc, rate=rate)
            h, w = frames.shape[1:3]
            pix = "yuvj420p" if venc == "mjpeg" else "yuv420p"
            if pix.endswith("420p"):
                h, w = h - h % 2, w - w % 2
            vstream.width, vstream.height, vstream.pix_fmt = w, h, pix
            if venc == "libx264":
                vstream.options = {"preset": "veryfast", "crf": "23"}
            elif venc in ("libvpx", "libvpx-vp9"):
                vstream.options = {"deadline": "realtime", "cpu-used": "8", "b": "1M"}
                vstream.bit_rate = 1_000_000
            elif venc == "libx265":
                vstream.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
            frames = frames[:, :h, :w]
        if audio is not None:
            aenc = _audio_encoder(audio_codec, suffix)
            out_rate = 48000 if aenc == "libopus" else int(sample_rate)
            astream = container.add_stream(aenc, rate=out_rate)
            astream.layout = "mono"
        if vstream is not None:
            for i, arr in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
                vf.pts = i
                for pkt in vstream.encode(vf):
                    container.mux(pkt)
            for pkt in vstream.encode(None):
                container.mux(pkt)
        if astream is not None:
            _write_audio(container, astream, np.asarray(audio, dtype=np.float32).reshape(-1), int(sample_rate))
    except MmvizError:
        container.close()
        raise
    except Exception as e:  # noqa: BLE001 — encoder missing or rejected settings
        container.close()
        raise EncodeError(f"Could not encode {path.name}: {e}") from e
    container.close()
    return path


def _write_audio(container, astream, audio: np.ndarray, sample_rate: int) -> None:
    """Feed audio through a resampler so any encoder's sample format / rate / frame size fits."""
    import av

    audio = np.clip(audio, -1.0, 1.0)
    resampler = av.AudioResampler(format=astream.codec_context.format.name if astream.codec_context.format else "fltp",
                                  layout="mono", rate=astream.codec_context.sample_rate,
                                  frame_size=astream.codec_context.frame_size or None)
    chunk = 4096
    for i in range(0, len(audio), chunk):
        piece = audio[i:i + chunk][None, :]
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece), format="flt", layout="mono")
        af.sample_rate = sample_rate
        af.pts = i
        for rf in resampler.resample(af):
            for pkt in astream.encode(rf):
                container.mux(pkt)
    for rf in resampler.resample(None):
        for pkt in astream.encode(rf):
            container.mux(pkt)
    for pkt in astream.encode(None):
        container.mux(pkt)
