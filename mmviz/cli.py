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
    "backbone": "mmviz.commands.backbone",
    "build-default": "mmviz.commands.build_default",
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        return int(args._run(args) or 0)
    except MmvizError as e:
        print(f"mmviz {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
