"""The ``mmviz`` command line.

Each subcommand lives in its own module exposing ``HELP: str``,
``add_arguments(parser)`` and ``run(args) -> int``; this file only routes. User-facing
errors (:class:`mmviz.errors.MmvizError`) are printed as one clear message with exit code 2,
never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mmviz.errors import MmvizError

#: subcommand -> module implementing it
COMMANDS: dict[str, str] = {
    "app": "mmviz.commands.app",
    "features": "mmviz.commands.features",
    "inspect": "mmviz.commands.inspect",
    "explain": "mmviz.commands.explain",
    "train": "mmviz.commands.train",
    "demo-corpus": "mmviz.commands.demo_corpus",
    "score": "mmviz.commands.score",
    "report": "mmviz.commands.report",
    "cache": "mmviz.commands.cache",
    "backbone": "mmviz.commands.backbone",
    "build-default": "mmviz.commands.build_default",
    "demo-view": "mmviz.commands.demo_view",
    "refit-heads": "mmviz.commands.refit_heads",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmviz", description="See why a text + audio + video fusion model predicted what it did.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:  # command not built in this version
                continue
            raise
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _log_to_terminal() -> None:
    """Library modules log (never print); a command shows their INFO lines as ``mmviz: ...``."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mmviz: %(message)s"))
    for name in ("mmviz", "mmviz_models"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


def prepare_out(out: str) -> None:
    """Check before any work that ``--out`` can be written, and create its missing parent folders.

    Why here: every command writes its --out only at the end (a record, a checkpoint folder,
    a CSV), after minutes of work, and pandas' CSV writer does not create folders. A path under
    a file, or in a folder this user may not write, is refused up front with the reason.
    """
    import os
    from pathlib import Path

    target = Path(out).expanduser()
    parent = target.parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise MmvizError(f"Cannot write --out {out}: {existing} is a file, not a folder.",
                         hint="Choose an --out path inside a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise MmvizError(f"Cannot write --out {out}: no permission to write in {existing}.",
                         hint="Choose an --out path in a folder you can write to.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MmvizError(f"Cannot create the folder {parent} for --out: {e.strerror or e}.",
                         hint="Choose an --out path in a folder you can write to.") from e


def main(argv: list[str] | None = None) -> int:
    _log_to_terminal()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except MmvizError as e:  # a numeric option out of range (mmviz/commands/_args.py)
        command = next((a for a in argv if a in COMMANDS), None)
        print(f"mmviz{' ' + command if command else ''}: {e}", file=sys.stderr)
        return 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        if isinstance(getattr(args, "out", None), str):
            prepare_out(args.out)
        return int(args._run(args) or 0)
    except MmvizError as e:
        print(f"mmviz {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
