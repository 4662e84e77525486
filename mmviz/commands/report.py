"""``mmviz report``: a saved analysis (``mmviz explain --out``) -> a self-contained HTML report."""

from __future__ import annotations

import argparse

HELP = "Turn a saved analysis (the .json written by `mmviz explain --out`) into a self-contained HTML report."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("record", help="the .json written by `mmviz explain CLIP --out NAME` (its .npz beside it)")
    p.add_argument("--out", required=True, help="the HTML file to write")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.errors import MmvizError, RecordError
    from mmviz.explain.analysis import ClipAnalysis
    from mmviz.records.serialize import load_record
    from mmviz.report import clip_report

    rec = load_record(args.record)
    if not isinstance(rec, ClipAnalysis):
        raise RecordError(f"{Path(args.record).name} holds a {type(rec).__name__} record, not a clip analysis.",
                          hint="Write one with `mmviz explain CLIP --out NAME`.")
    out = Path(args.out)
    try:
        out.write_text(clip_report(rec))
    except OSError as e:
        raise MmvizError(f"Cannot write the report to {out} ({e.strerror}).", hint="Choose a folder you can write to.") from e
    print(f"report {out}")
    return 0
