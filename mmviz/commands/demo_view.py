"""``mmviz demo-view``: precompute the demo set's dataset view and ship it beside the default model."""

from __future__ import annotations

import argparse

HELP = "Score, map and explain the demo set once and write the view the app opens instantly (models/default/demo_view)."
EPILOG = """\
The app uses the shipped view only while its checkpoint hash is the loaded model's and the demo
clips are unchanged; otherwise it scores the demo set as usual. Rerun this after shipping a
new default model (`mmviz build-default`, then copying it into models/default/), and commit
the folder (CSV / JSON / npz, a few hundred kB)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--out", default=None, help="where the view goes (default: models/default/demo_view of the installed package)")
    p.add_argument("--cache", default=None, help="results store to score into (default: the dashboard's cache)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.app_service.demo_view import export_demo_view
    from mmviz.app_service.service import AppService
    from mmviz.progress import terminal_bar

    svc = AppService(args.checkpoint or "default", Path(args.cache) if args.cache else None)
    progress, close = terminal_bar("demo view")
    try:
        out = export_demo_view(svc, Path(args.out) if args.out else None, progress=progress)
    finally:
        close()
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"demo view of checkpoint {svc.runner.checkpoint_hash} written to {out} ({size / 1024:.0f} kB)")
    return 0
