"""``mmviz cache``: how big the cache is, and emptying or shrinking it."""

from __future__ import annotations

import argparse

HELP = "Show the cache's size per part; --clear removes stored results and uploads; --limit GB shrinks it now."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clear", action="store_true", help="remove every stored result and upload (the language model and notes stay)")
    p.add_argument("--limit", type=float, default=None, metavar="GB",
                   help="remove least-recently-used results and uploads until the cache fits in GB gigabytes")
    p.add_argument("--folder", default=None, help="the cache folder (default: the dashboard's, see MMVIZ_CACHE)")


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GB" if n >= 2**28 else f"{n / 2**20:.1f} MB"


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmviz.data.cache import clear, evict, usage
    from mmviz.errors import MmvizError
    from mmviz.settings import get_settings

    s = get_settings()
    root = Path(args.folder).expanduser() if args.folder else s.app_cache
    if args.limit is not None and not (args.limit >= 0):
        raise MmvizError(f"--limit must be a size in gigabytes, 0 or more (got {args.limit}).", hint="For example --limit 5.")
    if args.clear:
        ev = clear(root)
        print(f"removed {ev.units} stored results and uploads ({_gb(ev.freed)}); {_gb(ev.total_after)} left in {root}")
    elif args.limit is not None:
        ev = evict(root, int(args.limit * 2**30), grace_s=0.0)
        print(f"removed {ev.units} least-recently-used results and uploads ({_gb(ev.freed)}); {_gb(ev.total_after)} left")
    u = usage(root)
    print(f"{root}: {_gb(u.total)} in all, {_gb(u.evictable)} of it results and uploads (limit {s.cache_limit_gb:g} GB, "
          "MMVIZ_CACHE_LIMIT_GB)")
    for part, n in sorted(u.parts.items(), key=lambda kv: -kv[1]):
        print(f"  {part:<28} {_gb(n):>10}")
    return 0
