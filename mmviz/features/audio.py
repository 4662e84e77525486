"""Prosodic and spectral audio descriptors on a fixed hop (default 0.1 s).

Why these: the model's audio path reads *how* something is said (pitch, loudness, timbre,
pauses), not the words. Spectral descriptors are computed on a fine 10 ms grid and averaged
over each hop so short events still count; pitch uses pYIN directly at the hop (it is the slow
part) with a speech range of 60–500 Hz. Step k covers [k·hop, (k+1)·hop) and is stamped with
its centre, the same convention the visual descriptors use.
"""

from __future__ import annotations

import numpy as np

from mmviz.records.features import TimedMatrix
from mmviz.validate import HOP, SAMPLE_RATE, check_number

N_MFCC = 13
AUDIO_FEATURE_NAMES: tuple[str, ...] = (
    "pitch_hz", "voiced_prob", "rms_db", "spectral_centroid_hz", "spectral_flux", "spectral_rolloff_hz",
    "zero_crossing_rate", *(f"mfcc_{i}" for i in range(1, N_MFCC + 1)), "speaking",
)
PITCH_FMIN = 60.0
PITCH_FMAX = 500.0
FINE_HOP_S = 0.01
SILENCE_DB = -60.0


def n_steps(duration: float, hop: float) -> int:
    """Steps covering ``duration`` seconds (a final partial step counts)."""
    return max(1, int(np.ceil(duration / hop - 1e-6)))


def audio_features(audio: np.ndarray, sample_rate: int, *, hop: float = 0.1, start: float = 0.0,
                   duration: float | None = None) -> TimedMatrix:
    """Descriptors (T, len(AUDIO_FEATURE_NAMES)) for mono float32 ``audio``.

    start: clip time of ``audio[0]`` (window start). duration: seconds to cover (default the
    audio length; longer pads with silence so audio and video axes can share a length).
    pitch_hz is NaN where unvoiced; everything else is always defined.
    """
    import librosa

    hop = check_number("hop (seconds per audio step)", hop, HOP)
    sr = check_number("sample_rate", sample_rate, SAMPLE_RATE)
    y = np.asarray(audio, dtype=np.float32).reshape(-1)
    dur = len(y) / sr if duration is None else float(duration)
    T = n_steps(dur, hop)
    hop_n = int(round(hop * sr))
    need = T * hop_n
    y = np.pad(y, (0, max(0, need - len(y))))[:need] if len(y) != need else y
    y = np.nan_to_num(y)

    # --- fine grid (10 ms) spectral descriptors, pooled per step ---
    fine = int(round(FINE_HOP_S * sr))
    per = hop_n // fine if hop_n % fine == 0 else None
    n_fft = 512 if sr <= 16000 else 1024
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=fine, center=True))  # (F, Tf)
    Tf = T * per if per else S.shape[1]
    S = S[:, :Tf] if S.shape[1] >= Tf else np.pad(S, ((0, 0), (0, Tf - S.shape[1])))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    power = S ** 2
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=fine, center=True)[0]
    rms = rms[:Tf] if len(rms) >= Tf else np.pad(rms, (0, Tf - len(rms)))
    centroid = librosa.feature.spectral_centroid(S=S, freq=freqs)[0]
    rolloff = librosa.feature.spectral_rolloff(S=S, sr=sr, freq=freqs, roll_percent=0.85)[0]
    Sn = S / (S.sum(axis=0, keepdims=True) + 1e-10)
    flux = np.r_[0.0, np.sqrt((np.maximum(np.diff(Sn, axis=1), 0) ** 2).sum(axis=0))]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=fine, center=True)[0]
    zcr = zcr[:Tf] if len(zcr) >= Tf else np.pad(zcr, (0, Tf - len(zcr)))
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=40, fmax=sr / 2)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-10), n_mfcc=N_MFCC)  # (13, Tf)

    def pool(x: np.ndarray) -> np.ndarray:
        if per:
            return x[..., : T * per].reshape(*x.shape[:-1], T, per).mean(axis=-1)
        idx = np.minimum((np.arange(T) + 0.5) * hop_n / fine, x.shape[-1] - 1).astype(int)
        return x[..., idx]

    rms_step = np.sqrt(pool(rms ** 2))
    rms_db = np.maximum(20 * np.log10(rms_step + 1e-10), SILENCE_DB - 40)

    f0, vprob = _pitch(y, sr, hop, T)
    loud = rms_db > max(SILENCE_DB + 15, float(np.max(rms_db)) - 35)
    f0 = np.where(loud, f0, np.nan)
    vprob = np.where(loud, vprob, 0.0)

    speaking = speaking_activity(rms_db, vprob)
    cols = [f0, vprob, rms_db, pool(centroid), pool(flux), pool(rolloff), pool(zcr), *pool(mfcc), speaking]
    values = np.stack([np.asarray(c, dtype=np.float64)[:T] for c in cols], axis=1).astype(np.float32)
    times = start + (np.arange(T) + 0.5) * hop
    return TimedMatrix(values, AUDIO_FEATURE_NAMES, times.astype(np.float64), float(hop))


def _pitch(y: np.ndarray, sr: int, hop: float, T: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN at 8 kHz on a 25 ms sub-hop, pooled per step: (f0 Hz or NaN, voiced probability).

    Why: pYIN's cost grows with frames and sample rate; speech pitch (60–500 Hz) needs neither
    16 kHz nor 10 ms frames. A step is voiced when at least half of its sub-frames are, and its
    pitch is their median. Measured against 10 ms / 16 kHz pYIN: same voicing on ~80% of steps,
    median pitch error < 1 Hz, ~4× faster.
    """
    import librosa

    from scipy.signal import resample_poly

    sub = 4
    s8 = 8000
    y8 = resample_poly(y, 1, sr // s8).astype(np.float32) if sr % s8 == 0 else librosa.resample(y, orig_sr=sr, target_sr=s8)
    # Tiny fixed dither: digital silence makes pYIN's HMM stick in 'unvoiced' past speech onsets.
    y8 = y8 + np.random.default_rng(0).standard_normal(len(y8)).astype(np.float32) * 1e-4
    sub_hop = int(round(hop * s8 / sub))
    # sub-frame j of step k is centred at (k + (j + 0.5) / sub) * hop
    y8 = np.pad(y8[sub_hop // 2:], (0, sub_hop * sub))
    f0, vflag, vprob = librosa.pyin(y8, fmin=PITCH_FMIN, fmax=PITCH_FMAX, sr=s8, frame_length=512, hop_length=sub_hop,
                                    center=True, resolution=0.2, max_transition_rate=min(35.92, 2.0 / (hop / sub)))
    need = T * sub
    f0 = np.pad(f0, (0, max(0, need - len(f0))), constant_values=np.nan)[:need].reshape(T, sub)
    vflag = np.pad(vflag, (0, max(0, need - len(vflag))))[:need].reshape(T, sub)
    vprob = np.pad(np.nan_to_num(vprob), (0, max(0, need - len(vprob))))[:need].reshape(T, sub)
    voiced = vflag.sum(axis=1) >= sub / 2
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pitch = np.where(voiced, np.nanmedian(np.where(vflag, f0, np.nan), axis=1), np.nan)
    return pitch, vprob.mean(axis=1)


def speaking_activity(rms_db: np.ndarray, voiced_prob: np.ndarray, *, hangover: int = 2) -> np.ndarray:
    """0/1 per step: loud enough relative to the clip's peak (or voiced), with a short hangover.

    Why relative: recordings differ in gain; speech sits within ~30 dB of the loudest step,
    pauses and room noise below it. A morphological closing bridges the short gaps between
    syllables without moving where speech starts and stops.
    """
    if rms_db.size == 0:
        return np.zeros(0, np.float32)
    thresh = max(SILENCE_DB + 15, float(np.max(rms_db)) - 30)
    active = (rms_db > thresh) | ((voiced_prob > 0.5) & (rms_db > thresh - 10))
    # closing (dilate then erode): bridges gaps of ≤ 2·hangover steps, keeps the edges in place
    n = len(active)
    dil = active.copy()
    for k in range(1, hangover + 1):
        dil[k:] |= active[:-k]
        dil[:-k] |= active[k:]
    out = dil.copy()
    for k in range(1, hangover + 1):
        out[k:] &= dil[:-k] | (np.arange(k, n) < k)
        out[:-k] &= dil[k:] | (np.arange(0, n - k) >= n - k)
    out &= dil
    return out.astype(np.float32)
