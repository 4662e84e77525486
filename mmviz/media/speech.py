"""Synthesise speech with the espeak-ng command-line tool.

Why a subprocess: espeak-ng is a small, offline, deterministic synthesiser available on every
Linux distribution; calling its binary avoids a fragile Python binding. Tests and the demo
corpus use it to make clips whose words and prosody are known.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from xml.sax.saxutils import escape

import numpy as np

from mmviz.errors import MmvizError

INSTALL_HINT = (
    "Install it with `apt-get install espeak-ng` (Debian/Ubuntu), `brew install espeak-ng` (macOS) "
    "or from https://github.com/espeak-ng/espeak-ng/releases (Windows), then try again."
)


class SpeechSynthMissing(MmvizError):
    """espeak-ng is not installed."""

    kind = "missing-tool"


class SpeechSynthError(MmvizError):
    """espeak-ng ran but failed."""

    kind = "speech"


def espeak_available() -> bool:
    """True when the espeak-ng binary is on PATH."""
    return shutil.which("espeak-ng") is not None


def speak(
    text: str,
    *,
    pitch: int = 50,
    speed: int = 175,
    amplitude: int = 100,
    voice: str = "en",
    pitch_range: int | None = None,
    ssml: bool = False,
) -> tuple[np.ndarray, int]:
    """Speak ``text``; return (mono float32 audio in [-1, 1], sample rate in Hz — 22050 for espeak-ng).

    pitch 0..99, speed words per minute, amplitude 0..200 (espeak-ng's own scales).
    pitch_range 0..100 wraps the text in SSML ``<prosody range>``; ssml=True means ``text`` is
    already SSML.
    """
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthMissing("Speech synthesis needs the espeak-ng program, which is not installed.", hint=INSTALL_HINT)
    if pitch_range is not None and not ssml:
        text = f'<speak><prosody range="{int(pitch_range)}">{escape(text)}</prosody></speak>'
        ssml = True
    cmd = [exe, "--stdout", "-v", voice, "-p", str(int(pitch)), "-s", str(int(speed)), "-a", str(int(amplitude))]
    if ssml:
        cmd.append("-m")
    try:
        proc = subprocess.run(cmd + ["--", text], capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SpeechSynthError(f"espeak-ng could not be run: {e}") from e
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise SpeechSynthError(f"espeak-ng failed (exit {proc.returncode}): {err or 'no audio produced'}",
                               hint=f"Check the voice name {voice!r} with `espeak-ng --voices`.")
    # espeak-ng writes a streaming WAV whose size fields may be 0xFFFFFFFF; soundfile copes.
    try:
        audio, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    except Exception:  # noqa: BLE001 — fall back to raw parsing of the 16-bit PCM payload
        data = proc.stdout
        sr = int.from_bytes(data[24:28], "little")
        idx = data.find(b"data")
        pcm = np.frombuffer(data[idx + 8: len(data) - (len(data) - idx - 8) % 2], dtype="<i2")
        audio = (pcm.astype(np.float32) / 32768.0)[:, None]
    return np.ascontiguousarray(audio[:, 0], dtype=np.float32), int(sr)
