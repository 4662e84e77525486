"""Clip-generating helpers shared by the media / features / transcript tests.

A plain module (not conftest) so tests import exactly what they use. Every helper builds its
clip from scratch: a real face (scikit-image's astronaut photo) moved and scaled across a
frame, speech from espeak-ng, tones and noise — so tests never depend on files in the repo.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

SR = 16000
SENTENCE = "the quick brown fox jumps over the lazy dog near the river bank"

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")


@lru_cache(maxsize=1)
def astronaut_face() -> np.ndarray:
    """The astronaut's head and shoulders (about 220×190 RGB), face roughly centred."""
    from skimage import data

    return data.astronaut()[20:250, 125:345].copy()


def face_frames(n: int, *, size: tuple[int, int] = (640, 480), seed: int = 0) -> np.ndarray:
    """(n, H, W, 3) uint8: the face sliding left→right and growing 0.9×→1.4× over a textured backdrop."""
    import cv2

    w, h = size
    rng = np.random.default_rng(seed)
    backdrop = (rng.random((h // 8, w // 8, 3)) * 80 + 90).astype(np.uint8)
    backdrop = cv2.resize(backdrop, (w, h), interpolation=cv2.INTER_LINEAR)
    face = astronaut_face()
    frames = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        u = i / max(1, n - 1)
        scale = (0.9 + 0.5 * u) * h / 480
        f = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fh, fw = f.shape[:2]
        x = int(round((w - fw) * (0.05 + 0.9 * u)))
        y = int(round((h - fh) * (0.5 + 0.3 * np.sin(2 * np.pi * u))))
        frame = backdrop.copy()
        frame[y:y + fh, x:x + fw] = f
        frames[i] = frame
    return frames


def blank_frames(n: int, *, size: tuple[int, int] = (320, 240), seed: int = 0) -> np.ndarray:
    """(n, H, W, 3) uint8 moving gradient with no face (cheap to encode)."""
    w, h = size
    xs = np.arange(w)[None, :, None]
    ys = np.arange(h)[:, None, None]
    return np.stack([((xs + ys + 7 * i + seed) % 256).repeat(3, axis=2).astype(np.uint8) for i in range(n)])


def tone(duration: float, *, freq: float = 220.0, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    """A harmonic tone (voiced-like), float32 mono."""
    t = np.arange(int(duration * sr)) / sr
    y = sum(amp / k * np.sin(2 * np.pi * freq * k * t) for k in (1, 2, 3))
    return y.astype(np.float32)


@lru_cache(maxsize=4)
def speech(text: str = SENTENCE) -> tuple[np.ndarray, int]:
    """espeak-ng speech of ``text`` resampled to 16 kHz (cached: several tests share it)."""
    from scipy.signal import resample_poly

    from mmviz.media.speech import speak

    audio, sr = speak(text)
    g = np.gcd(sr, SR)
    return resample_poly(audio, SR // g, sr // g).astype(np.float32), SR


def speech_clip_audio(duration: float, text: str = SENTENCE, *, lead: float = 0.5) -> np.ndarray:
    """``lead`` s of silence, the spoken ``text``, then silence up to ``duration`` s (16 kHz)."""
    y, _ = speech(text)
    out = np.zeros(int(duration * SR), np.float32)
    start = int(lead * SR)
    piece = y[: len(out) - start]
    out[start:start + len(piece)] = piece
    return out


def write_test_clip(path: Path, *, duration: float = 2.0, fps: float = 10.0, size: tuple[int, int] = (320, 240),
                    audio: bool = True, video: bool = True, **codec) -> Path:
    """A small clip with a moving gradient and a tone, via mmviz.media.encode.write_clip."""
    from mmviz.media.encode import write_clip

    n = int(round(duration * fps))
    frames = blank_frames(n, size=size) if video else None
    y = tone(duration) if audio else None
    return write_clip(path, frames, fps, y, SR, **codec)


def remux_video_timestamps(src: Path, dst: Path, new_pts) -> Path:
    """Copy ``src`` into ``dst`` (container from the suffix) with the video packets' timestamps rewritten.

    ``new_pts(index, pts)`` gives each video packet's new pts (and dts) in stream ticks, or None
    to leave the packet's own. The compressed data is untouched (no re-encoding), so the file
    decodes to exactly the pictures of ``src``: only the clock the demuxer reports is broken,
    as in files from some encoders and screen recorders (every frame at 0, a clock that starts
    over half-way). Audio packets are copied as they are.
    """
    import av

    from mmviz.media.encode import _FORMATS

    inp = av.open(str(src))
    out = av.open(str(dst), "w", format=_FORMATS[dst.suffix.lower()])
    try:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        i = 0
        for pkt in inp.demux(*[inp.streams[k] for k in streams]):
            if pkt.size == 0:
                continue
            if pkt.stream.type == "video":
                pts = new_pts(i, pkt.pts)
                i += 1
                if pts is not None:
                    pkt.pts = pkt.dts = pts
            pkt.stream = streams[pkt.stream.index]
            out.mux(pkt)
    finally:
        out.close()
        inp.close()
    return dst
