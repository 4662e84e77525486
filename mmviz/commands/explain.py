"""``mmviz explain``: why one clip got its prediction -> Explanation record."""

from __future__ import annotations

import argparse

from mmviz.commands.run_options import add_device_options

HELP = "Explain one clip: modality Shapley values, integrated gradients, time and word attributions, counterfactuals."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", help="a media file (mp4, mov, webm, mkv, avi, wav, mp3, ...)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--transcript", default=None, help="typed transcript text (else a sidecar .txt/.srt/.vtt beside the clip)")
    p.add_argument("--asr", action="store_true", help="recognise the speech offline when there is no transcript")
    p.add_argument("--baseline", default="mean", choices=["mean", "zeros", "absent"], help="what a removed modality becomes")
    p.add_argument("--steps", type=int, default=16, help="integrated-gradients steps (audio/visual and words)")
    p.add_argument("--out", default=None, help="save the Explanation record here (JSON + npz)")
    add_device_options(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.explain import ExplainSettings, explain_clip
    from mmviz.features.extract import extract_features
    from mmviz.inference.runner import ModelRunner
    from mmviz.records.serialize import save_record

    src = Path(args.clip)
    sidecar = next((src.with_suffix(s) for s in (".txt", ".srt", ".vtt") if src.with_suffix(s).exists()), None)
    feats = extract_features(src, transcript=args.transcript, sidecar=None if args.transcript else sidecar, asr=args.asr)
    runner = ModelRunner.from_checkpoint(args.checkpoint, args.device, compile=args.compile)
    e = explain_clip(runner, feats, ExplainSettings(baseline=args.baseline, ig_steps=args.steps, word_steps=args.steps))
    print(f"{e.clip_id}: fused {e.prediction:+.2f}")
    if e.verdict is not None:
        print(f"verdict: {e.verdict.kind} - {e.verdict.text}")
    if e.shapley is not None:
        sh = e.shapley
        print("Shapley: " + "  ".join(f"{m} {v:+.3f}" for m, v in sh.values.items()) + f"  interaction {sh.interaction:+.3f}")
    if e.integrated_gradients is not None:
        ig = e.integrated_gradients
        print("IG:      " + "  ".join(f"{m} {v:+.3f}" for m, v in ig.totals.items()) + f"  (delta {ig.delta:.3f})")
    if e.time_attributions is not None and e.time_attributions.top_window:
        m, a, b = e.time_attributions.top_window
        print(f"top moment: {m} {a:.1f}-{b:.1f} s")
    if e.word_attributions is not None and len(e.word_attributions.words):
        wa = e.word_attributions
        top = sorted(zip(wa.words, wa.scores), key=lambda t: -abs(t[1]))[:5]
        print("top words: " + ", ".join(f"{w} {s:+.3f}" for w, s in top))
    for c in (e.counterfactuals.items if e.counterfactuals else ()):
        print(f"  {c.name:<32} -> {c.fused:+.2f} ({c.delta:+.2f})")
    for n in e.notes:
        print(f"note: {n}")
    if args.out:
        print(f"saved {save_record(e, args.out)}")
    return 0
