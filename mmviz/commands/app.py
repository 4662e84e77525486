"""``mmviz app``: start the dashboard (Streamlit) on the default model and demo clips."""

from __future__ import annotations

import argparse

from mmviz.commands._args import PORT, number

HELP = "Start the dashboard in the browser (binds to 127.0.0.1 unless --address says otherwise)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=number("--port", PORT), default=8501)
    p.add_argument("--address", default="127.0.0.1", help="use 0.0.0.0 to expose it on the network (explicit choice)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")


def run(args: argparse.Namespace) -> int:
    import os
    import subprocess
    import sys
    from pathlib import Path

    app = Path(__file__).resolve().parents[2] / "app.py"
    env = dict(os.environ)
    if args.checkpoint:
        env["MMVIZ_CHECKPOINT"] = args.checkpoint
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
           "--server.address", args.address, "--browser.gatherUsageStats", "false"]
    print(f"mmviz dashboard on http://{args.address}:{args.port}")
    return subprocess.call(cmd, cwd=app.parent, env=env)
