"""Face and motion descriptors per sampled frame, with OpenCV Haar cascades.

Why Haar: it runs on a CPU in a few milliseconds on a small grey frame, ships with OpenCV, and
needs no model download. Detection runs on a grey copy downscaled to at most
``DETECT_HEIGHT`` pixels high (any aspect ratio); smile and eye cascades run only inside the face box. Frames
without a face get NaN for every face-dependent feature (marked, never zero) and
face_present = 0. Positions and sizes are fractions of the frame, so the numbers do not depend
on the clip's resolution.
"""

from __future__ import annotations

import threading

import numpy as np

from mmviz.records.features import TimedMatrix
from mmviz.validate import POSITIVE, check_number

VISUAL_FEATURE_NAMES: tuple[str, ...] = (
    "face_present", "face_x", "face_y", "face_size", "head_motion", "smile", "eyes", "mouth_open",
    "brightness", "motion_energy",
)
#: features that are NaN when no face is found
FACE_FEATURES = ("face_x", "face_y", "face_size", "head_motion", "smile", "eyes", "mouth_open")
DETECT_HEIGHT = 240
DETECTOR = "opencv-haar:frontalface_default+smile+eye"


_PER_THREAD = threading.local()


def _cascade(name: str):
    """This thread's copy of a Haar cascade.

    Why per thread: a ``CascadeClassifier`` keeps scratch state between calls, so two threads
    detecting with one classifier at once fail inside OpenCV (``getScaleData`` assertion). A
    dashboard server runs each user's request, and its own warm-up, on separate threads.
    Loading the three cascades takes about 15 ms.
    """
    cache = _PER_THREAD.__dict__.setdefault("cascades", {})
    if name not in cache:
        import cv2

        c = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if c.empty():  # pragma: no cover — broken OpenCV install
            raise RuntimeError(f"OpenCV Haar cascade {name} could not be loaded")
        cache[name] = c
    return cache[name]


def _grey_small(frame: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    if h > DETECT_HEIGHT:
        grey = cv2.resize(grey, (max(1, int(round(w * DETECT_HEIGHT / h))), DETECT_HEIGHT), interpolation=cv2.INTER_AREA)
    return grey


def detect_face(grey: np.ndarray, prev: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int] | None:
    """The largest frontal face (x, y, w, h) in a grey image, or None.

    prev: the face box in the previous sampled frame. Why: a full-frame Haar search costs
    ~25 ms on a small frame here, a search in a window around the last face at nearby scales
    ~3 ms; faces move little between samples. If the local search misses, the full search runs.
    """
    import cv2

    cascade = _cascade("haarcascade_frontalface_default.xml")
    h, w = grey.shape
    if prev is not None:
        px, py, pw, ph = prev
        x0, y0 = max(0, int(px - 0.45 * pw)), max(0, int(py - 0.45 * ph))
        x1, y1 = min(w, int(px + 1.45 * pw)), min(h, int(py + 1.45 * ph))
        roi = grey[y0:y1, x0:x1]
        lo, hi = max(20, int(0.8 * pw)), int(1.3 * pw) + 1
        if roi.shape[0] >= lo and roi.shape[1] >= lo:
            faces = cascade.detectMultiScale(cv2.equalizeHist(roi), scaleFactor=1.15, minNeighbors=3,
                                             minSize=(lo, lo), maxSize=(hi, hi))
            if len(faces):
                x, y, fw, fh = max(faces, key=lambda b: b[2] * b[3])
                return int(x + x0), int(y + y0), int(fw), int(fh)
    min_side = max(24, int(0.1 * min(h, w)))
    faces = cascade.detectMultiScale(cv2.equalizeHist(grey), scaleFactor=1.15, minNeighbors=3, minSize=(min_side, min_side))
    if len(faces) == 0:
        return None
    x, y, fw, fh = max(faces, key=lambda b: b[2] * b[3])
    return int(x), int(y), int(fw), int(fh)


def _response(cascade_name: str, roi: np.ndarray, min_frac: float, neighbours: int) -> float:
    """Cascade confidence inside a region: the best detection's level weight, 0 when none."""
    if roi.size == 0 or min(roi.shape) < 8:
        return 0.0
    side = max(6, int(min_frac * roi.shape[1]))
    _, _, weights = _cascade(cascade_name).detectMultiScale3(
        roi, scaleFactor=1.1, minNeighbors=neighbours, minSize=(side, side // 2 if "smile" in cascade_name else side),
        outputRejectLevels=True)
    return float(np.max(weights)) if len(weights) else 0.0


def _mouth_open(face: np.ndarray) -> float:
    """Dark-pixel fraction in the mouth band (lower third, middle half of the face box).

    Why: an open mouth shows a dark cavity; the fraction of pixels well below the face's
    median brightness grows as the mouth opens, whatever the lighting.
    """
    h, w = face.shape
    band = face[int(0.68 * h): int(0.92 * h), int(0.28 * w): int(0.72 * w)]
    if band.size == 0:
        return float("nan")
    ref = float(np.median(face))
    return float(np.mean(band < 0.55 * ref))


class FrameDescriber:
    """Descriptors of sampled frames, one frame at a time, in time order.

    Why a class: head_motion and motion_energy compare each frame with the one before, and the
    face search starts from the last face box. Keeping that state here lets a decoder hand over
    each frame as soon as it is decoded and drop it (a 10 min clip then never holds its ~6000
    frames); :func:`visual_features` runs the same steps over frames already in memory.
    """

    def __init__(self) -> None:
        self._col = {name: i for i, name in enumerate(VISUAL_FEATURE_NAMES)}
        self._prev_grey: np.ndarray | None = None
        self._prev_centre: tuple[float, float] | None = None
        self._prev_box: tuple[int, int, int, int] | None = None
        self.rows: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> np.ndarray:
        """Describe one RGB frame (H, W, 3) uint8; returns (and keeps) its row of VISUAL_FEATURE_NAMES."""
        col = self._col
        row = np.full(len(VISUAL_FEATURE_NAMES), np.nan, dtype=np.float32)
        grey = _grey_small(frame)
        h, w = grey.shape
        row[col["brightness"]] = grey.mean() / 255.0
        if self._prev_grey is not None and self._prev_grey.shape == grey.shape:
            row[col["motion_energy"]] = np.mean(np.abs(grey.astype(np.int16) - self._prev_grey)) / 255.0
        self._prev_grey = grey.astype(np.int16)
        box = detect_face(grey, self._prev_box)
        self._prev_box = box
        self.rows.append(row)
        if box is None:
            row[col["face_present"]] = 0.0
            self._prev_centre = None
            return row
        x, y, fw, fh = box
        cx, cy = (x + fw / 2) / w, (y + fh / 2) / h
        row[col["face_present"]] = 1.0
        row[col["face_x"]], row[col["face_y"]] = cx, cy
        row[col["face_size"]] = fw / w
        if self._prev_centre is not None:
            row[col["head_motion"]] = np.hypot((cx - self._prev_centre[0]) * w, (cy - self._prev_centre[1]) * h) / np.hypot(w, h)
        self._prev_centre = (cx, cy)
        face = grey[y: y + fh, x: x + fw]
        row[col["smile"]] = _response("haarcascade_smile.xml", face[fh // 2:], 0.25, 8)
        row[col["eyes"]] = _response("haarcascade_eye.xml", face[: int(0.6 * fh)], 0.12, 3)
        row[col["mouth_open"]] = _mouth_open(face)
        return row

    def matrix(self, times: np.ndarray, step: float | None = None) -> TimedMatrix:
        """The rows added so far as a TimedMatrix on ``times`` (one time per row)."""
        times = np.asarray(times, dtype=np.float64)
        if len(times) != len(self.rows):
            raise ValueError(f"{len(self.rows)} frames described but {len(times)} times given")
        values = np.stack(self.rows) if self.rows else np.zeros((0, len(VISUAL_FEATURE_NAMES)), np.float32)
        if step is None:
            step = float(np.median(np.diff(times))) if len(times) > 1 else 0.1
        step = check_number("step (seconds between frames)", step, POSITIVE)
        return TimedMatrix(values, VISUAL_FEATURE_NAMES, times, float(step))


def visual_features(frames: np.ndarray, times: np.ndarray, *, step: float | None = None) -> TimedMatrix:
    """Descriptors (N, len(VISUAL_FEATURE_NAMES)) for RGB frames (N, H, W, 3) at ``times``.

    head_motion: face-centre displacement since the previous sampled frame, as a fraction of
    the frame diagonal (NaN when either frame has no face). motion_energy: mean absolute grey
    difference to the previous frame, 0..1 (NaN on the first frame). brightness: mean grey 0..1.
    """
    if step is not None:
        check_number("step (seconds between frames)", step, POSITIVE)
    describer = FrameDescriber()
    for frame in np.asarray(frames):
        describer.add(frame)
    return describer.matrix(times, step)
