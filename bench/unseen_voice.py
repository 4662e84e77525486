"""Out-of-generator check: a neural voice the generator never used reads human-labelled sentences.

    python bench/unseen_voice.py [--sentences 40] [--speakers 4] [--checkpoint default [--checkpoint DIR ...]]
                                 [--transcript typed|none] [--shared-dir ../shared]

Why: every generated clip is spoken by espeak-ng with a valence planted in its pitch, rate and
loudness, so a model can learn "high, fast, loud = positive" and still score well on held-out
*generated* clips. Here the voice is `hibari-tts` (a Kokoro-distilled neural American English
voice, Apache-2.0, inside its wheel) reading CMU-MOSI *dev* sentences in a neutral read-aloud
style, turned into several speakers by shifting pitch, tempo and level with sox. Nothing in the
voice carries the sentence's sentiment, so:

* the **audio head** should stay near 0 and must not depend on which speaker reads the sentence;
  ``audio > +1`` counts clips the voice alone calls clearly positive;
* the **text head** and the **fused head** should follow the human label (MOSI Non0 Acc-2 and r).

Sentence choice (no cherry-picking): MOSI dev rows, shuffled with seed 0, the first ``--sentences``;
each is read by every speaker. Audio only (no picture), transcripts typed (``.txt`` sidecars) unless
``--transcript none``. Skips cleanly (exit 0, a message) without ../shared or without hibari-tts.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: (name, pitch shift in cents, tempo factor, gain in dB): a low and a high voice, a fast quiet one
SPEAKERS: tuple[tuple[str, int, float, float], ...] = (
    ("heart", 0, 1.0, 0.0),
    ("low", -350, 0.92, 3.0),
    ("high", 300, 1.08, 0.0),
    ("fast-quiet", 120, 1.18, -9.0),
    ("slow-loud", -150, 0.85, 6.0),
    ("very-high", 550, 1.0, -3.0),
)


def sentences(shared: Path, n: int) -> list[tuple[str, str, float]]:
    import pandas as pd

    df = pd.read_csv(shared / "data" / "text" / "mosi_train_valid.csv")
    dev = df[df["mode"] == "dev"].sample(frac=1.0, random_state=0).head(n)
    return [(str(r.id), str(r.text), float(r.label)) for r in dev.itertuples()]


def synthesize(folder: Path, rows, speakers, typed: bool) -> None:
    import pandas as pd
    from hibari import Hibari, write_wav

    tts = Hibari()
    meta = []
    for sid, text, label in rows:
        raw = folder / f".{sid}.raw.wav"
        write_wav(str(raw), tts(text))
        for name, cents, tempo, gain in speakers:
            clip = f"{sid}__{name}"
            out = folder / f"{clip}.wav"
            subprocess.run(["sox", str(raw), "-r", "16000", str(out), "pitch", str(cents), "tempo", "-s", str(tempo),
                            "gain", str(gain)], check=True, capture_output=True)
            if typed:
                (folder / f"{clip}.txt").write_text(text + "\n")
            meta.append({"clip_id": clip, "label": label, "sentence": sid, "speaker": name})
        raw.unlink()
    pd.DataFrame(meta).to_csv(folder / "metadata.csv", index=False)


def summarise(table, meta) -> dict[str, float]:
    from mmviz.data.metrics import mmsa_metrics

    t = table.merge(meta[["clip_id", "sentence", "speaker"]], on="clip_id")
    lab = t["label"].to_numpy(float)
    out: dict[str, float] = {}
    for head in ("fused", "text", "audio"):
        m = mmsa_metrics(t[f"pred_{head}"].to_numpy(float), lab)
        out[f"{head} Non0 Acc-2"], out[f"{head} r"] = m["Non0_acc_2"], m["Corr"]
    a = t["pred_audio"].to_numpy(float)
    out["audio head mean"] = float(a.mean())
    out["audio head > +1 (share)"] = float((a > 1.0).mean())
    out["audio head < -1 (share)"] = float((a < -1.0).mean())
    if "distance_audio" in t.columns and t["distance_audio"].notna().any():  # checkpoints with distance statistics
        out["voice distance to training data (median ratio)"] = float(t["distance_audio"].median())
        out["voice flagged unfamiliar (ratio > 1.5, share)"] = float((t["distance_audio"] > 1.5).mean())
    # how much the reader (not the sentence) moves each head: sd across speakers of one sentence, averaged
    for head in ("audio", "fused"):
        out[f"{head}: sd across speakers of a sentence"] = float(t.groupby("sentence")[f"pred_{head}"].std().mean())
    shares = t[["pred_text", "pred_audio", "pred_visual"]].abs().idxmax(axis=1).value_counts(normalize=True)
    out["loudest head is audio (share)"] = float(shares.get("pred_audio", 0.0))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--speakers", type=int, default=4, help=f"how many of the {len(SPEAKERS)} speaker variants")
    ap.add_argument("--checkpoint", action="append", help="default (repeatable: compare checkpoints in one run)")
    ap.add_argument("--transcript", choices=("typed", "none"), default="typed")
    ap.add_argument("--shared-dir", default=str(REPO.parent / "shared"))
    ap.add_argument("--keep", default=None, help="keep the generated clips in this folder")
    a = ap.parse_args(argv)
    if not 1 <= a.speakers <= len(SPEAKERS) or a.sentences < 2:
        print(f"--speakers must be 1..{len(SPEAKERS)} and --sentences at least 2.", file=sys.stderr)
        return 2
    shared = Path(a.shared_dir)
    if not (shared / "data" / "text" / "mosi_train_valid.csv").exists():
        print(f"skipped: {shared}/data/text/mosi_train_valid.csv not found (human-labelled sentences)")
        return 0
    try:
        import hibari  # noqa: F401
    except ImportError:
        print("skipped: hibari-tts is not installed (pip install hibari-tts)")
        return 0
    if shutil.which("sox") is None:
        print("skipped: sox is not installed (apt install sox)")
        return 0

    import pandas as pd

    from mmviz.data.scoring import score_folder
    from mmviz.data.store import ResultsStore
    from mmviz.inference.spec import RunnerSpec

    rows = sentences(shared, a.sentences)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="mmviz-unseen-voice-"))
    work.mkdir(parents=True, exist_ok=True)
    clips, store = work / "clips", ResultsStore(work / "store")
    clips.mkdir(exist_ok=True)
    t0 = time.time()
    if not (clips / "metadata.csv").exists():
        synthesize(clips, rows, SPEAKERS[: a.speakers], typed=a.transcript == "typed")
    meta = pd.read_csv(clips / "metadata.csv")
    print(f"{len(rows)} MOSI dev sentences × {a.speakers} speakers ({', '.join(s[0] for s in SPEAKERS[:a.speakers])}) "
          f"= {len(meta)} audio-only clips, hibari-tts voice, transcript {a.transcript}; made in {time.time() - t0:.0f} s")
    results: dict[str, dict[str, float]] = {}
    for ck in a.checkpoint or ["default"]:
        t1 = time.time()
        runner = RunnerSpec(None if ck == "default" else ck, "cpu", False).build()
        table = score_folder(clips, runner, store, labels=meta[["clip_id", "label"]])
        results[f"{ck} ({runner.checkpoint_hash[:8]})"] = summarise(table, meta)
        print(f"scored with {ck} in {time.time() - t1:.0f} s")
    names = list(results)
    print("\n| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in next(iter(results.values())):
        print(f"| {k} | " + " | ".join(f"{results[n][k]:+.3f}" if "mean" in k else f"{results[n][k]:.3f}" for n in names) + " |")
    print(f"\nhuman labels: mean {meta['label'].mean():+.2f}, {np.mean(meta['label'] > 0):.0%} positive; total {time.time() - t0:.0f} s")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
