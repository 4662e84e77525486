"""Memory soak: many consecutive analyses in ONE process; does its resident memory stay flat?

A dashboard server lives for days and analyses clip after clip in one process, so anything
kept per clip (a cache, a hook, a graph) would grow without bound. This runs ``--analyses``
analyses (default 100) through :class:`mmviz.app_service.service.AppService`, each one new: 5
different demo-style clips (espeak-ng speech over the animated face, 4-6 s) × 20 different
typed transcripts, so nothing comes from the results store and every one pays for features,
the model and all explanations. Prints the process's RSS after analyses 1, 10, 20, … (``--every``), and the
growth from analysis 10 (after warm-up) to the last, in MB and %; "flat" is under 10 %.

    python bench/memory_soak.py [--analyses 100] [--checkpoint default|tiny|DIR] [--every 10]
"""

from __future__ import annotations

import argparse
import signal
import gc
import sys
import tempfile
import time
from pathlib import Path

from mmviz.testing.clips import SENTENCES, speech_clips


def rss_mb() -> float:
    """This process's resident memory in MB (psutil when installed, else /proc/self/status)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024


def transcripts(n: int) -> list[str]:
    """``n`` different transcripts: the first half of one sentence, the second half of another."""
    out: list[str] = []
    for j in range(len(SENTENCES) ** 2):
        a, b = SENTENCES[j % len(SENTENCES)].split(), SENTENCES[(j // len(SENTENCES) + j + 1) % len(SENTENCES)].split()
        t = " ".join(a[: len(a) // 2] + b[len(b) // 2 :])
        if t not in out:
            out.append(t)
        if len(out) == n:
            return out
    raise ValueError(f"cannot make {n} different transcripts")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analyses", type=int, default=100)
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--every", type=int, default=10, help="print RSS after analysis 1 and every this many")
    ap.add_argument("--checkpoint", default="default", help="default (the shipped model), tiny (quick run) or a folder")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` / kill: still delete the temp folder
    from mmviz.app_service.service import AppService

    n_texts = -(-a.analyses // a.clips)
    with tempfile.TemporaryDirectory(prefix="mmviz-soak-") as tmp:
        clips = [c for c, _ in speech_clips(Path(tmp) / "clips", a.clips)]
        texts = transcripts(n_texts)
        rss0 = rss_mb()
        svc = AppService(a.checkpoint, Path(tmp) / "cache")
        rss_loaded = rss_mb()
        print(f"checkpoint: {a.checkpoint}  {a.analyses} analyses = {a.clips} clips × {n_texts} typed transcripts, "
              f"each new (not in the store)")
        print(f"RSS before the model: {rss0:.0f} MB, model loaded: {rss_loaded:.0f} MB")
        print(f"{'analysis':>8} {'RSS MB':>8} {'s/analysis':>11}")
        seen: dict[int, float] = {}
        t0 = time.perf_counter()
        last_t, last_k = t0, 0
        for k in range(a.analyses):
            clip, text = clips[k % a.clips], texts[k // a.clips]
            res = svc.analyze_file(clip, filename=clip.name, transcript=text)
            assert res.features.transcript_source == "typed", res.features.transcript_source
            del res
            n = k + 1
            if n == 1 or n % a.every == 0 or n == a.analyses:
                gc.collect()
                now = time.perf_counter()
                seen[n] = rss_mb()
                print(f"{n:>8} {seen[n]:>8.0f} {(now - last_t) / (n - last_k):>11.1f}", flush=True)
                last_t, last_k = now, n
        wall = time.perf_counter() - t0
        n_store = len(list((Path(tmp) / "cache" / "results" / "explanations").rglob("*.json")))
    base = seen.get(10, seen[1])
    last = seen[a.analyses]
    growth = last - base
    print(f"{n_store} explanations computed and stored (none reused); {wall:.0f} s in all")
    print(f"growth from analysis {10 if 10 in seen else 1} to {a.analyses}: {growth:+.0f} MB ({growth / base:+.1%}) — "
          + ("flat" if growth / base < 0.10 else "GROWING"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
