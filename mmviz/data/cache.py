"""A bounded cache: least-recently-used eviction of stored results and uploads.

Why: every upload and every per-clip, per-transcript record used to stay forever, so a busy
server filled its disk. The cache folder (``Settings.app_cache``) now has a size limit
(``MMVIZ_CACHE_LIMIT_GB``, default 20 GB). What may be evicted is what can be recomputed:
records in the results store and uploaded clips. What is never evicted: the de-quantised
language model (``backbones/``), users' notes (``notes.sqlite``) and training corpora.

"Recently used" is the file's modification time: the store touches a record each time it
serves it (see ``ResultsStore._load``), and a re-uploaded clip is touched too. A record and its
arrays (``x.json`` + ``x.npz``) go together; a dataset view's folder goes whole. Files younger
than ``grace_s`` are never removed, so a clip being analysed right now keeps its upload.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

#: parts of the cache folder whose contents can be recomputed (relative paths)
EVICTABLE = ("results", "app/uploads")
#: parts that hold what cannot be recomputed cheaply or at all
KEPT = ("backbones", "notes.sqlite", "build-default")


@dataclass(frozen=True)
class CacheUsage:
    """Bytes per part of the cache folder: ``parts`` {relative path: bytes}; ``total``; ``evictable``."""

    root: Path
    parts: dict
    total: int
    evictable: int


@dataclass(frozen=True)
class Eviction:
    """What one eviction removed: ``units`` (records, uploads or dataset views), ``freed`` bytes, ``total_after``."""

    units: int
    freed: int
    total_after: int
    limit: int


def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    total = 0
    for dirpath, _, files in os.walk(p):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def usage(root: str | Path) -> CacheUsage:
    root = Path(root)
    parts: dict[str, int] = {}
    if root.exists():
        for child in sorted(root.iterdir()):
            if child.name == "app" and child.is_dir():
                for sub in sorted(child.iterdir()):
                    parts[f"app/{sub.name}"] = _size(sub)
            elif child.name == "results" and child.is_dir():
                for sub in sorted(child.iterdir()):
                    parts[f"results/{sub.name}"] = _size(sub)
            else:
                parts[child.name] = _size(child)
    evictable = sum(v for k, v in parts.items() if any(k == e or k.startswith(e + "/") or e.startswith(k + "/") for e in EVICTABLE))
    return CacheUsage(root, parts, sum(parts.values()), evictable)


def _units(root: Path) -> list[tuple[float, int, list[Path]]]:
    """(last use, bytes, paths) of every evictable unit under ``root``."""
    units: dict[Path, list[Path]] = {}
    for part in EVICTABLE:
        base = root / part
        if not base.exists():
            continue
        for dirpath, dirnames, files in os.walk(base):
            d = Path(dirpath)
            if d.parent.name == "dataset-views":  # one scored dataset: its table, embeddings and maps together
                units[d] = [d]
                dirnames[:] = []
                continue
            for f in files:
                p = d / f
                key = p.with_suffix("") if p.suffix in (".json", ".npz") else p
                units.setdefault(key, []).append(p)
    out = []
    for paths in units.values():
        try:
            stats = [p.stat() for p in paths]
        except OSError:
            continue
        size = sum(_size(p) if p.is_dir() else s.st_size for p, s in zip(paths, stats))
        out.append((max(s.st_mtime for s in stats), size, paths))
    return sorted(out, key=lambda u: u[0])


def evict(root: str | Path, limit_bytes: int, *, grace_s: float = 600.0) -> Eviction:
    """Remove least-recently-used evictable units until the cache folder fits in ``limit_bytes``."""
    root = Path(root)
    total = usage(root).total
    freed = n = 0
    now = time.time()
    for last_use, size, paths in _units(root):
        if total - freed <= limit_bytes:
            break
        if now - last_use < grace_s:
            break  # sorted by last use: everything after this is in use too
        for p in paths:
            try:
                shutil.rmtree(p) if p.is_dir() else p.unlink()
            except FileNotFoundError:
                pass
        freed += size
        n += 1
    return Eviction(n, freed, total - freed, int(limit_bytes))


def clear(root: str | Path) -> Eviction:
    """Remove every evictable unit now (the model, notes and corpora stay)."""
    return evict(root, 0, grace_s=0.0)


class CacheLimiter:
    """Evict at most once per ``every_s`` seconds (walking the folder costs a little), after writes."""

    def __init__(self, root: str | Path, limit_gb: float, every_s: float = 60.0) -> None:
        self.root = Path(root)
        self.limit = int(limit_gb * 2**30)
        self.every_s = every_s
        self._last = 0.0

    def maybe_evict(self) -> Eviction | None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return None
        self._last = now
        return evict(self.root, self.limit)
