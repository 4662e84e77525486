"""Clip pipeline speed: seconds of processing per second of clip, ours vs the naive way.

Generates 480p and 720p clips (the astronaut's face moving across a backdrop, espeak-ng speech
or a tone when espeak-ng is missing), then times ``extract_features`` stage by stage (decode /
audio / visual / transcript) and the naive way: OpenCV VideoCapture decoding every frame and a
full-resolution Haar face search on each. The naive path is timed on the first NAIVE_SECONDS
of each clip (it is slow) and reported per clip second. A small warm-up extraction runs first
so numba's one-off compilation inside librosa is not counted.

    python bench/clip_bench.py [--seconds 20] [--fps 25] [--naive-seconds 4]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 16000


def make_frames(n: int, w: int, h: int) -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[20:250, 125:345]
    rng = np.random.default_rng(0)
    backdrop = cv2.resize((rng.random((h // 8, w // 8, 3)) * 80 + 90).astype(np.uint8), (w, h))
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        u = (i % 250) / 249
        f = cv2.resize(face, None, fx=(0.9 + 0.4 * u) * h / 480, fy=(0.9 + 0.4 * u) * h / 480)
        fh, fw = f.shape[:2]
        x, y = int((w - fw) * (0.1 + 0.8 * u)), int((h - fh) * 0.4)
        out[i] = backdrop
        out[i, y:y + fh, x:x + fw] = f
    return out


def make_audio(seconds: float) -> np.ndarray:
    out = np.zeros(int(seconds * SR), np.float32)
    if shutil.which("espeak-ng"):
        from scipy.signal import resample_poly

        from mmviz.media.speech import speak

        y, sr = speak("the quick brown fox jumps over the lazy dog while the band plays on the river bank")
        y = resample_poly(y, SR // np.gcd(sr, SR), sr // np.gcd(sr, SR)).astype(np.float32)
    else:
        t = np.arange(3 * SR) / SR
        y = (0.3 * np.sin(2 * np.pi * 140 * t)).astype(np.float32)
    pos = int(0.5 * SR)
    while pos + len(y) < len(out):
        out[pos:pos + len(y)] = y
        pos += len(y) + SR // 2
    return out


def time_ours(path: Path) -> dict[str, float]:
    from mmviz.features.extract import extract_features

    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage: str, frac: float) -> None:
        marks[f"{stage}:{frac}"] = time.perf_counter()

    extract_features(path, transcript="the quick brown fox", progress=progress)
    total = time.perf_counter() - t0
    out = {"total": total}
    for stage in ("decode", "audio", "visual", "transcript"):
        out[stage] = marks.get(f"{stage}:1.0", t0) - marks.get(f"{stage}:0.0", t0)
    return out


def time_naive(path: Path, seconds: float) -> float:
    """Seconds spent on the first ``seconds`` of the clip: VideoCapture + full-res Haar on every frame."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    t0 = time.perf_counter()
    for _ in range(int(seconds * fps)):
        ok, frame = cap.read()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
    cap.release()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--naive-seconds", type=float, default=4.0)
    args = ap.parse_args()

    import cv2

    from mmviz.media.encode import write_clip

    tmp = Path(tempfile.mkdtemp(prefix="clip_bench_"))
    try:
        warm = tmp / "warm.mp4"
        write_clip(warm, make_frames(20, 320, 240), 10, make_audio(2.0), SR)
        time_ours(warm)
        audio = make_audio(args.seconds)
        rows = []
        for label, (w, h) in (("480p", (854, 480)), ("720p", (1280, 720))):
            path = tmp / f"{label}.mp4"
            write_clip(path, make_frames(int(args.seconds * args.fps), w, h), args.fps, audio, SR)
            ours = time_ours(path)
            naive = time_naive(path, args.naive_seconds) / args.naive_seconds
            rows.append((label, ours, naive))
        print(f"clip: {args.seconds:.0f} s at {args.fps:.0f} fps, H.264 + AAC; CPU threads: {cv2.getNumThreads()}; "
              f"naive timed on the first {args.naive_seconds:.0f} s")
        print("times are seconds of processing per second of clip (lower is better)")
        head = f"{'clip':<6}{'decode':>8}{'audio':>8}{'visual':>8}{'words':>8}{'total':>8}{'naive':>9}{'speed-up':>10}{'× real time':>13}"
        print(head)
        print("-" * len(head))
        for label, ours, naive in rows:
            per = {k: v / args.seconds for k, v in ours.items()}
            print(f"{label:<6}{per['decode']:>8.3f}{per['audio']:>8.3f}{per['visual']:>8.3f}{per['transcript']:>8.3f}"
                  f"{per['total']:>8.3f}{naive:>9.3f}{naive / per['total']:>9.1f}×{1 / per['total']:>12.1f}×")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
