"""``mmviz app``: start the dashboard (Streamlit) on the default model and demo clips.

The entry script and its settings ship inside the package (:mod:`mmviz.app`), so this works
from any folder with an installed mmviz, not only from a checkout. Streamlit reads
``.streamlit/config.toml`` only from the current folder, so the packaged settings are passed
as command-line flags instead.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from mmviz.errors import MmvizError

from mmviz.commands._args import PORT, number

HELP = "Start the dashboard in the browser (binds to 127.0.0.1 unless --address says otherwise)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=number("--port", PORT), default=8501)
    p.add_argument("--address", default="127.0.0.1", help="use 0.0.0.0 to expose it on the network (explicit choice)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped default model)")
    p.add_argument("--device", default=None, help="auto (default: CUDA when present), cpu, cuda or cuda:N")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: Streamlit depends on `toml`
        import toml

        return toml.loads(path.read_text())
    return tomllib.loads(path.read_text())


def _flag_value(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def streamlit_command(python: str, port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line for the packaged entry script: every setting of the
    packaged ``streamlit_config.toml`` as ``--section.key value``, then port and address."""
    from mmviz.app import MAIN_SCRIPT, STREAMLIT_CONFIG

    settings = {f"{section}.{key}": value for section, table in _read_toml(STREAMLIT_CONFIG).items()
                for key, value in table.items()}
    settings |= {"server.port": port, "server.address": address}
    flags = [part for key, value in settings.items() for part in (f"--{key}", _flag_value(value))]
    return [python, "-m", "streamlit", "run", str(MAIN_SCRIPT), *flags]


def _check_app_extra() -> None:
    missing = [m for m in ("streamlit", "plotly") if importlib.util.find_spec(m) is None]
    if missing:
        raise MmvizError(f"The dashboard needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed.",
                         hint="Install the dashboard extra: pip install 'mmviz[app]'.")


def run(args: argparse.Namespace) -> int:
    import os
    import subprocess
    import sys

    _check_app_extra()
    env = dict(os.environ)
    if args.checkpoint:  # a folder is made absolute: the server may resolve it from another folder
        ckpt = Path(args.checkpoint).expanduser()
        env["MMVIZ_CHECKPOINT"] = str(ckpt.resolve()) if ckpt.exists() else args.checkpoint
    if args.device:
        from mmviz.inference.device import resolve_device

        resolve_device(args.device)  # refused here, with the reason, rather than inside the server
        env["MMVIZ_DEVICE"] = args.device
    cmd = streamlit_command(sys.executable, args.port, args.address)
    print(f"mmviz dashboard on http://{args.address}:{args.port}", flush=True)
    if os.name == "posix":  # become the server: stopping `mmviz app` stops Streamlit, no orphan left behind
        os.execve(sys.executable, cmd, env)
    return subprocess.call(cmd, env=env)
