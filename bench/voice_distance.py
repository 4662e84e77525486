"""One sentence in a voice the model never heard vs a training-generator voice: distance, shrinkage, heads.

    python bench/voice_distance.py [--checkpoint DIR ...]   (default: the shipped model)

The unseen voice is `hibari-tts` (a neural American English voice inside its wheel) saying a clearly
negative sentence with no transcript guesswork (typed); the known voice is demo020, an espeak-ng demo
clip from the training generator. Prints each checkpoint's voice distance (a ratio to its training
clips' 99th percentile; empty for checkpoints without distance statistics), the audio head before and
after shrinkage, the text and fused heads, and the record's warning. Skips cleanly without hibari-tts.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "Honestly, the movie was terrible and I hated every minute of it."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", action="append", default=None, help="checkpoint folder (repeatable; default: shipped)")
    a = ap.parse_args()
    try:
        import hibari
    except ImportError:
        print("skipped: hibari-tts is not installed (pip install hibari-tts)")
        return 0
    from mmviz.features.extract import extract_features
    from mmviz.inference.runner import ModelRunner

    wav = Path(tempfile.mkdtemp()) / "unseen.wav"
    hibari.write_wav(str(wav), hibari.Hibari()(SENTENCE))
    clips = REPO / "mmviz" / "demo" / "clips"
    known = extract_features(clips / "demo020.mp4", sidecar=clips / "demo020.txt")
    unseen = extract_features(wav, transcript=SENTENCE)
    print("| checkpoint | clip | voice distance | audio head (before shrink) | text head | fused |\n|---|---|---|---|---|---|")
    notes = []
    for ck in a.checkpoint or [None]:
        r = ModelRunner.from_checkpoint(ck)
        for name, ins in zip(("demo020 (espeak-ng, training generator)", "hibari-tts (never heard)"), r.inspect([known, unseen])):
            p, d = ins.predictions, ins.distance.get("audio")
            raw = ins.unshrunk.get("audio", p.audio)
            print(f"| {r.checkpoint_hash[:8]} | {name} | {'—' if d is None else f'{d:.2f}'} | {p.audio:+.2f} ({raw:+.2f}) | "
                  f"{p.text:+.2f} | {p.fused:+.2f} |")
            notes += [f"{r.checkpoint_hash[:8]} {name}: {n}" for n in ins.notes]
    for n in notes:
        print(f"\n{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
