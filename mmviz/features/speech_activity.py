"""Speech probability per step from Silero VAD, whose ONNX weights ship inside the `silero-vad` wheel.

Why: :func:`mmviz.features.audio.speaking_activity` decides "speaking" from loudness relative
to the clip's loudest step. On clean speech that is exact; under steady noise, music or a
room's hum every step is loud, so "speaking" is on everywhere and the speaker-relative
prosody (medians over speaking steps) is computed over noise. A neural VAD trained on real
recordings tells speech from noise. Silero VAD is MIT-licensed, 1–2 MB, runs offline with
``onnxruntime`` (already installed for the hibari-tts voice), and an ONNX graph is data, not
pickled code.

A core dependency (``silero-vad``, ``onnxruntime``): :func:`mmviz.features.audio.speaking_mask`
takes the ``speaking`` mask and ``speech_prob`` from it; where it is missing, :func:`available` is
False and the loudness rule stands in (the descriptor version says which, so features of the two
are never mixed). ``bench/affect_extractors.py`` measures it against the loudness rule.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from mmviz.features.wheel_data import wheel_file

SAMPLE_RATE = 16000
CHUNK = 512  # samples per call at 16 kHz (32 ms), what the model was trained on
CONTEXT = 64  # samples of the previous chunk prepended to each call, as silero's own wrapper does
EXTRACTOR = "silero-vad 16 kHz ONNX (silero-vad wheel, MIT)"


def model_path() -> Path | None:
    """The 16 kHz ONNX graph inside the installed `silero-vad` wheel."""
    return wheel_file("silero_vad", "data", "silero_vad_16k_op15.onnx")


def available() -> bool:
    return model_path() is not None and importlib.util.find_spec("onnxruntime") is not None


@functools.lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    path = model_path()
    if path is None:
        raise FileNotFoundError("the Silero VAD model was not found: pip install --no-deps silero-vad")
    opts = ort.SessionOptions()
    opts.inter_op_num_threads = opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def chunk_probs(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech probability of each 32 ms chunk of mono ``audio`` (resampled to 16 kHz)."""
    y = np.asarray(audio, np.float32).reshape(-1)
    if sample_rate != SAMPLE_RATE:
        import librosa

        y = librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
    n = -(-len(y) // CHUNK)
    y = np.pad(y, (CONTEXT, n * CHUNK - len(y)))
    sess = _session()
    state = np.zeros((2, 1, 128), np.float32)
    sr = np.array(SAMPLE_RATE, np.int64)
    out = np.empty(n, np.float32)
    for i in range(n):
        x = y[i * CHUNK:i * CHUNK + CONTEXT + CHUNK][None]
        p, state = sess.run(None, {"input": x, "state": state, "sr": sr})
        out[i] = float(p.reshape(-1)[0])
    return out


def speech_prob(audio: np.ndarray, sample_rate: int, *, hop: float = 0.1, n_steps: int | None = None) -> np.ndarray:
    """Mean speech probability per ``hop``-second step (step k covers [k·hop, (k+1)·hop), the
    convention of the other audio descriptors)."""
    p = chunk_probs(audio, sample_rate)
    t = (np.arange(len(p)) + 0.5) * CHUNK / SAMPLE_RATE
    T = n_steps if n_steps is not None else max(1, int(np.ceil(len(audio) / sample_rate / hop - 1e-6)))
    k = np.minimum((t / hop).astype(int), T - 1)
    sums = np.bincount(k, weights=p, minlength=T)[:T]
    counts = np.bincount(k, minlength=T)[:T]
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0).astype(np.float32)
