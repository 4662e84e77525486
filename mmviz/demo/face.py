"""A real face, animated, whose expression carries a planted facial valence.

Why a real face: the project's visual descriptors come from a Haar-cascade face detector,
which only fires on face-like images; a drawn cartoon would not be detected. The face is the
astronaut portrait shipped with scikit-image (``skimage.data.astronaut()``, Eileen Collins,
NASA, public domain), cropped around the head and feathered into an oval.

How the facial valence ``v`` in [-3, 3] shows (all monotone in ``v``; see
:func:`face_style`):

* mouth: the photo's own smile is painted out, then a mouth is drawn whose opening grows with
  ``v`` (a dark, open, upturned smile at +3; a thin, closed, downturned line at -3);
* scale: the face is drawn larger when positive (leaning in), smaller when negative;
* brightness: the face is lit brighter when positive, dimmer when negative;
* head motion: a lively bob when positive, almost still when negative.

Outside a decisive span the face is neutral (``v = 0``), with a 0.15 s cross-fade at the
span's edges. Besides the expression the face always drifts slowly across the frame so
the visual stream is never a still image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: The crop of ``astronaut()`` (rows, cols) used as the face sprite.
CROP = (slice(10, 250), slice(120, 330))
#: Mouth centre, half-width and half-height in sprite coordinates.
MOUTH_CENTRE = (103.0, 135.0)  # (x, y)
MOUTH_HALF = (22.0, 8.0)
RAMP_S = 0.15


@dataclass(frozen=True)
class FaceStyle:
    """How one facial valence is drawn.

    mouth_open: 0 (closed line) .. 1 (wide open), mouth_curve: -1 (corners down) .. 1 (up),
    scale: sprite scale relative to the frame height, gain: brightness multiplier,
    bob: head-bob amplitude as a fraction of frame height.
    """

    mouth_open: float
    mouth_curve: float
    scale: float
    gain: float
    bob: float


def face_style(valence: float) -> FaceStyle:
    """The drawing parameters for ``valence`` on [-3, 3] (monotone, linear in ``valence``)."""
    v = float(np.clip(valence, -3.0, 3.0)) / 3.0  # -1 .. 1
    return FaceStyle(
        mouth_open=0.5 + 0.5 * v,
        mouth_curve=v,
        scale=0.80 + 0.16 * v,
        gain=1.0 + 0.22 * v,
        bob=0.02 + 0.015 * v,
    )


@dataclass(frozen=True)
class Sprite:
    """A face image with its mouth painted out, a feathered alpha mask and where to draw the mouth."""

    img: np.ndarray
    alpha: np.ndarray
    mouth_centre: tuple[float, float]
    mouth_half: tuple[float, float]


#: Skin tints for the greyscale LFW faces (RGB multipliers), drawn per clip.
TINTS = ((1.0, 0.86, 0.74), (0.92, 0.75, 0.6), (0.72, 0.54, 0.42), (1.0, 0.93, 0.86), (0.85, 0.7, 0.58))
LFW_SIZE = 200


def _paint_out_mouth(img: np.ndarray, centre: tuple[float, float], half: tuple[float, float]) -> np.ndarray:
    import cv2

    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(half[0] + 4), int(half[1] + 3)), 0, 0, 360, 255, -1)
    return cv2.inpaint(img, mask, 5, cv2.INPAINT_TELEA)


def _oval(h: int, w: int, rx: float, ry: float, blur: float) -> np.ndarray:
    import cv2

    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2), (int(w * rx), int(h * ry)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(alpha, (0, 0), blur)


@lru_cache(maxsize=128)
def _base_sprite(face: str = "astronaut") -> Sprite:
    """The face ``face`` (see :mod:`mmviz.demo.factors`): "astronaut", "astronaut-mirror" or "lfw-NN"."""
    import cv2
    from skimage import data

    if face in ("astronaut", "astronaut-mirror"):
        img = np.ascontiguousarray(data.astronaut()[CROP])  # (H, W, 3) uint8 RGB
        img = _paint_out_mouth(img, MOUTH_CENTRE, MOUTH_HALF)
        h, w = img.shape[:2]
        centre = MOUTH_CENTRE
        if face == "astronaut-mirror":
            img = np.ascontiguousarray(img[:, ::-1])
            centre = (w - 1 - MOUTH_CENTRE[0], MOUTH_CENTRE[1])
        return Sprite(img, _oval(h, w, 0.47, 0.48, 6), centre, MOUTH_HALF)
    if face.startswith("lfw-"):
        grey = (data.lfw_subset()[int(face[4:])] * 255).astype(np.uint8)
        big = cv2.resize(grey, (LFW_SIZE, LFW_SIZE), interpolation=cv2.INTER_CUBIC)
        img = np.repeat(big[..., None], 3, axis=2)
        centre, half = (LFW_SIZE * 0.5, LFW_SIZE * 0.71), (LFW_SIZE * 0.12, LFW_SIZE * 0.04)
        img = _paint_out_mouth(img, centre, half)
        return Sprite(img, _oval(LFW_SIZE, LFW_SIZE, 0.49, 0.5, 5), centre, half)
    raise ValueError(f"unknown face {face!r}")


def _draw_mouth(sprite: Sprite, style: FaceStyle) -> np.ndarray:
    """Draw the mouth for ``style`` onto a copy of the sprite image."""
    import cv2

    out = sprite.img.copy()
    cx, cy = sprite.mouth_centre
    k = sprite.mouth_half[0] / MOUTH_HALF[0]  # the astronaut's mouth is the unit
    hw = sprite.mouth_half[0] * (0.85 + 0.25 * style.mouth_open)
    xs = np.linspace(-hw, hw, 25)
    bend = -style.mouth_curve * 5.0 * k * (xs / hw) ** 2  # corners up (y smaller) when positive
    upper = cy + bend - 1.0
    lower = upper + 1.5 + 13.0 * k * style.mouth_open * (1.0 - (xs / hw) ** 2) ** 0.7
    poly = np.concatenate([np.stack([cx + xs, upper], 1), np.stack([cx + xs[::-1], lower[::-1]], 1)])
    pts = np.round(poly * 4).astype(np.int32)  # sub-pixel precision (shift=2)
    cv2.fillPoly(out, [pts], (70, 18, 22), lineType=cv2.LINE_AA, shift=2)
    lip = np.round(np.stack([cx + xs, upper], 1) * 4).astype(np.int32)
    cv2.polylines(out, [lip], False, (140, 60, 60), 2, lineType=cv2.LINE_AA, shift=2)
    return out


def _background(width: int, height: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """A soft vertical gradient (float32 RGB 0..255): blue-grey, or a random one from ``rng``."""
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.array([150, 165, 185], np.float32)
    bottom = np.array([95, 105, 125], np.float32)
    if rng is not None:
        top = rng.uniform(90, 220, size=3).astype(np.float32)
        bottom = (top * rng.uniform(0.5, 0.9)).astype(np.float32)
    return np.broadcast_to(top * (1 - ramp) + bottom * ramp, (height, width, 3)).copy()


def valence_track(times: np.ndarray, valence: float, span: tuple[float, float] | None) -> np.ndarray:
    """Facial valence at each time: ``valence`` inside ``span`` (whole clip if None), else 0."""
    if span is None:
        return np.full(times.shape, float(valence))
    t0, t1 = span
    rise = np.clip((times - t0) / RAMP_S + 0.5, 0, 1)
    fall = np.clip((t1 - times) / RAMP_S + 0.5, 0, 1)
    return float(valence) * np.minimum(rise, fall)


def render_face(
    duration: float,
    fps: float,
    facial_valence: float,
    *,
    seed: int,
    span: tuple[float, float] | None = None,
    size: tuple[int, int] = (320, 240),
    face: str | None = None,
) -> np.ndarray:
    """Frames (N, H, W, 3) uint8 RGB of the animated face; N = round(duration * fps).

    ``size`` is (width, height). ``span`` limits the expression to [t0, t1] seconds.
    face: a face of the varied generator (:mod:`mmviz.demo.factors`), drawn with a random tint,
    background and base size from ``seed``; None = the original astronaut on blue-grey.
    """
    import cv2

    width, height = size
    rng = np.random.default_rng(seed)
    n = int(round(duration * fps))
    times = (np.arange(n) + 0.5) / fps
    track = valence_track(times, facial_valence, span)
    sprite = _base_sprite(face or "astronaut")
    look = np.random.default_rng([int(seed), 77]) if face is not None else None
    bg = _background(width, height, look)
    base_scale, tint = 1.0, np.ones(3, np.float32)
    if look is not None:
        base_scale = float(look.uniform(0.85, 1.1))
        if face.startswith("lfw-"):
            tint = np.array(TINTS[int(look.integers(len(TINTS)))], np.float32)
        tint = tint * np.float32(look.uniform(0.85, 1.1))
    alpha = sprite.alpha
    # slow drift across the frame plus a valence-scaled bob
    phase = rng.uniform(0, 2 * np.pi, size=3)
    drift_x = 0.16 * width * np.sin(2 * np.pi * times / max(duration, 1.0) + phase[0])
    drift_y = 0.04 * height * np.sin(2 * np.pi * 0.5 * times / max(duration, 1.0) + phase[1])
    bob_phase = 2 * np.pi * 1.6 * times + phase[2]
    frames = np.empty((n, height, width, 3), np.uint8)
    mouth_cache: dict[float, np.ndarray] = {}
    for i in range(n):
        style = face_style(track[i])
        key = round(float(track[i]), 2)
        if key not in mouth_cache:
            mouth_cache[key] = _draw_mouth(sprite, face_style(key))
        drawn = mouth_cache[key]
        sh, sw = sprite.img.shape[:2]
        scale = style.scale * base_scale * height / 240.0
        fw, fh = max(8, int(round(sw * scale))), max(8, int(round(sh * scale)))
        f = cv2.resize(drawn, (fw, fh), interpolation=cv2.INTER_AREA).astype(np.float32) * style.gain * tint
        a = cv2.resize(alpha, (fw, fh), interpolation=cv2.INTER_AREA)[..., None]
        cx = width / 2 + drift_x[i]
        cy = height / 2 + drift_y[i] + style.bob * height * np.sin(bob_phase[i])
        frame = bg.copy()
        x0, y0 = int(round(cx - fw / 2)), int(round(cy - fh / 2))
        fx0, fy0 = max(0, -x0), max(0, -y0)
        x0c, y0c = max(0, x0), max(0, y0)
        x1c, y1c = min(width, x0 + fw), min(height, y0 + fh)
        if x1c > x0c and y1c > y0c:
            fs = f[fy0 : fy0 + (y1c - y0c), fx0 : fx0 + (x1c - x0c)]
            asub = a[fy0 : fy0 + (y1c - y0c), fx0 : fx0 + (x1c - x0c)]
            region = frame[y0c:y1c, x0c:x1c]
            frame[y0c:y1c, x0c:x1c] = region * (1 - asub) + fs * asub
        frames[i] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames
