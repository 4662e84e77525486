"""Offline speech recognition with pocketsphinx (US-English model bundled with the package).

Why pocketsphinx: it runs on a CPU with no download and gives word start/end times. It is not
accurate on expressive speech; treat its transcript as a rough guide (the UI labels the source
"asr"). Silence/filler tokens (<s>, </s>, <sil>, [NOISE], ++…++) are dropped.
"""

from __future__ import annotations

import numpy as np

from mmviz.errors import MmvizError
from mmviz.records.features import Word

ASR_SR = 16000
FRAME_RATE = 100  # pocketsphinx segments are in 10 ms frames
SILENT_PEAK = 1e-3  # below this peak amplitude the audio is treated as silence
#: Most HMMs searched per 10 ms frame. pocketsphinx's default (30000) decodes at ~0.6x real time
#: on this project's 2-core CPU; 3000 is 2.3x faster and gave the same words on espeak-ng
#: speech in our check (``tests/test_transcript_asr.py`` keeps testing that).
MAX_HMM_PER_FRAME = 3000


class AsrUnavailableError(MmvizError):
    """pocketsphinx is not installed."""

    kind = "missing-tool"


def _decoder():
    """A fresh decoder per utterance: a reused one adapts its cepstral mean to earlier audio, so
    the same clip could get different words on a second call (loading costs ~0.4 s)."""
    try:
        from pocketsphinx import Decoder
    except ImportError as e:
        raise AsrUnavailableError("Speech recognition needs the pocketsphinx package, which is not installed.",
                                  hint="Install it with `pip install pocketsphinx`, or give a transcript instead.") from e
    try:
        return Decoder(samprate=ASR_SR, loglevel="FATAL", maxhmmpf=MAX_HMM_PER_FRAME)
    except (KeyError, ValueError, RuntimeError):  # older pocketsphinx without loglevel / maxhmmpf
        return Decoder(samprate=ASR_SR)


def recognise(audio: np.ndarray, sample_rate: int = ASR_SR, *, offset: float = 0.0) -> tuple[Word, ...]:
    """Words with measured times (seconds, + ``offset``) from mono float audio at 16 kHz."""
    if int(sample_rate) != ASR_SR:
        raise ValueError(f"ASR expects {ASR_SR} Hz audio, got {sample_rate}")
    y = np.asarray(audio, dtype=np.float32).reshape(-1)
    if y.size == 0 or float(np.max(np.abs(y))) < SILENT_PEAK:
        return ()  # pocketsphinx "hears" words in digital silence; there are none
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()
    dec = _decoder()
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    words = []
    for seg in dec.seg():
        w = seg.word
        if w.startswith("<") or w.startswith("[") or w.startswith("++") or w in ("<sil>",):
            continue
        w = w.split("(")[0]  # alternate pronunciations: word(2)
        start = offset + seg.start_frame / FRAME_RATE
        end = offset + (seg.end_frame + 1) / FRAME_RATE
        words.append(Word(w, round(start, 3), round(end, 3), False))
    return tuple(words)
