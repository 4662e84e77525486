"""``mmviz explain``: why one clip got its prediction -> Explanation record."""

from __future__ import annotations

import argparse

from mmviz.commands._args import count
from mmviz.commands.run_options import add_device_options

HELP = "Explain one clip: modality Shapley values, integrated gradients, time and word attributions, counterfactuals."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", help="a media file (mp4, mov, webm, mkv, avi, wav, mp3, ...)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--transcript", default=None, help="typed transcript text (else a sidecar .txt/.srt/.vtt beside the clip)")
    p.add_argument("--asr", action="store_true", help="recognise the speech offline when there is no transcript")
    p.add_argument("--baseline", default="mean", choices=["mean", "zeros", "absent"], help="what a removed modality becomes")
    p.add_argument("--steps", type=count("--steps", low=2, example=16), default=16, help="integrated-gradients steps (audio/visual and words)")
    p.add_argument("--out", default=None, help="save the analysis here (NAME.json + NAME.npz: features, inspection and "
                   "explanation; open it in the dashboard's Clip review or turn it into a report)")
    p.add_argument("--report", default=None, help="also write a self-contained HTML report to this file")
    p.add_argument("--store", default=None, help="results store folder (default: the one the dashboard and `mmviz score` use)")
    add_device_options(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.data.scoring import explanation_for, features_for, score_features
    from mmviz.data.store import ResultsStore
    from mmviz.explain import ExplainSettings
    from mmviz.explain.analysis import ClipAnalysis
    from mmviz.inference.runner import ModelRunner
    from mmviz.records.serialize import save_record

    src = Path(args.clip)
    store = ResultsStore(args.store)
    feats = features_for(src, store, args.transcript, asr=args.asr)
    runner = ModelRunner.from_checkpoint(args.checkpoint, args.device, compile=args.compile)
    ins = score_features([feats], runner, store)[0]
    e = explanation_for(feats, runner, store, inspection=ins,
                        settings=ExplainSettings(baseline=args.baseline, ig_steps=args.steps, word_steps=args.steps))
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
    analysis = ClipAnalysis(feats, ins, e, media_path=str(src.resolve()))
    if args.out:
        print(f"saved {save_record(analysis, args.out)} (open it in the dashboard's Clip review)")
    if args.report:
        from mmviz.report import clip_report

        out = Path(args.report)
        out.write_text(clip_report(analysis, {"checkpoint": args.checkpoint or "default"}))
        print(f"report {out}")
    return 0
