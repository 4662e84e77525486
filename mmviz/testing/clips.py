"""Short demo-style clips for benchmarks: espeak-ng speech over the animated demo face.

Why here: the dashboard benchmark, the load test, the fault test and the memory soak all need
clips that look like the demo corpus (a face, real speech the offline recogniser can read),
and several of them need *different* clips so that nothing is served from the results store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmviz.testing.browser import write_test_clip

#: sentences of a few seconds each, read by the clips and typed as their transcripts
SENTENCES = (
    "honestly the acting in this film was wonderful and the story kept me watching",
    "the ending felt rushed and a little too long for what it had to say",
    "i did not expect to laugh this much at such a quiet little movie",
    "the music was loud and the plot made no sense to me at all",
    "a warm and gentle story with a cast that clearly cared about it",
    "i was bored after ten minutes and checked my phone the whole time",
    "the photography is beautiful even when the script lets it down",
    "my friends loved it but i found the jokes tired and predictable",
    "one of the best performances i have seen this year without doubt",
    "it starts slowly then builds into something really rather moving",
    "the dialogue sounds like nobody ever read it out loud before filming",
    "a clever idea buried under too many scenes that go nowhere",
)


def speech_clip(path: Path, text: str, seconds: float = 5.0, *, valence: float = 1.5, seed: int = 0,
                fps: float = 15.0) -> Path:
    """``seconds`` of the demo face (``seed`` moves it) with espeak-ng speaking ``text`` at ``valence``.

    Without espeak-ng (or the demo extras) a tone over a moving gradient is written instead, with
    its pitch set by ``seed`` so that clips still differ, and a note is printed.
    """
    path = Path(path)
    try:
        from mmviz.demo.face import render_face
        from mmviz.demo.voice import speak_with_valence
        from mmviz.media.encode import write_clip

        spoken = speak_with_valence(text, valence)
        sr = spoken.sample_rate
        audio = np.zeros(int(seconds * sr), np.float32)
        piece = spoken.audio[: len(audio) - int(0.3 * sr)]
        audio[int(0.3 * sr) : int(0.3 * sr) + len(piece)] = piece
        frames = render_face(seconds, fps, valence, seed=seed)
        write_clip(path, frames, fps, audio, sr)
        return path
    except Exception as e:  # noqa: BLE001 - no espeak-ng: still a clip, without real speech
        print(f"(no demo-style clip: {e}; using a generated tone clip)")
        return write_test_clip(path, seconds=seconds, fps=10 + seed % 5)


def speech_clips(folder: Path, n: int, seconds: float = 5.0, prefix: str = "clip") -> list[tuple[Path, str]]:
    """``n`` different clips ``<prefix>-NN.mp4`` in ``folder`` and the sentence each speaks.

    Lengths cycle over ``seconds - 1 .. seconds + 1`` and valences over -2..+2, so every clip has
    other bytes (and, past ``len(SENTENCES)``, the same sentence over another face and voice).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        text = SENTENCES[i % len(SENTENCES)]
        secs = seconds - 1.0 + (i % 3)
        val = (-2.0, -1.0, 0.5, 1.0, 2.0)[i % 5]
        out.append((speech_clip(folder / f"{prefix}-{i:02d}.mp4", text, secs, valence=val, seed=i), text))
    return out
