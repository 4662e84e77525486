"""``mmviz inspect``: one clip (or features record) through a checkpoint -> Inspection record."""

from __future__ import annotations

import argparse

from mmviz.commands.run_options import add_device_options

HELP = "Run one clip through the model and save what it computed (Inspection record: JSON + npz)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", help="a media file (mp4, mov, webm, mkv, avi, wav, mp3, ...) or a saved features .json")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--transcript", default=None, help="typed transcript text")
    p.add_argument("--out", default=None, help="where to save the record (default: next to nothing, print only)")
    add_device_options(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.records.features import ClipFeatures
    from mmviz.inference.runner import ModelRunner
    from mmviz.records.serialize import load_record, save_record

    src = Path(args.clip)
    if src.suffix == ".json":
        feats = load_record(src)
        if not isinstance(feats, ClipFeatures):
            from mmviz.errors import RecordError

            raise RecordError(f"{src.name} holds a {type(feats).__name__}, not clip features.")
    else:
        from mmviz.features.extract import extract_features

        feats = extract_features(src, transcript=args.transcript)
    runner = ModelRunner.from_checkpoint(args.checkpoint, args.device, compile=args.compile)
    ins = runner.inspect([feats])[0]
    p = ins.predictions
    print(f"{ins.clip_id}: fused {p.fused:+.2f} ({ins.predicted_class()})  text {p.text:+.2f}  audio {p.audio:+.2f}  visual {p.visual:+.2f}")
    print(f"gates per block: {', '.join(f'{a:.2f}/{b:.2f}' for a, b in ins.gates)}  checkpoint {ins.checkpoint_hash}")
    if args.out:
        print(f"saved {save_record(ins, args.out)}")
    return 0
