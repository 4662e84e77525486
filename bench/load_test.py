"""Load test: N analysts at once on one local dashboard server, each analysing a different clip.

Starts the packaged dashboard (exactly as ``mmviz app`` does) on a free 127.0.0.1 port with a
fresh private cache, makes N different demo-style clips (espeak-ng speech over the animated
face, 4-6 s), and opens N browser contexts in one Debian Chromium (Playwright, one asyncio
loop). Every user loads the page, uploads their clip and types its transcript; when all are
ready they click "Analyse upload" together, and each waits until every Clip review view is on
screen, showing *their* clip, with no exception, no error alert and no console error. The
server's memory (its process and children, resident set) is sampled every 0.5 s. Prints:

    users  successes  success rate  p50 / p95 / max seconds (click → all views)  server RSS before / peak / after

    python bench/load_test.py [--users 8] [--checkpoint default|tiny|DIR] [--timeout 900] [--settle 20] [--budget 480]

Exits 1 when any user failed. Before the users start, one page is opened (the model loads) and
the server is left ``--settle`` seconds to finish its background warm-up, as a server that has
been up for a while would have.
"""

from __future__ import annotations

import argparse
import signal
import asyncio
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmviz.testing import testids as T
from mmviz.testing.browser import SERVERS, launch_browser, streamlit_server
from mmviz.testing.clips import speech_clips


# ---- server memory
def tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of a process and all its children: psutil when installed, else /proc."""
    try:
        import psutil

        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
        total = 0
        for q in procs:
            try:
                total += q.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20
    except ImportError:
        pass
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total_kb = 0
    for q in pids:
        try:
            line = next(ln for ln in Path(f"/proc/{q}/status").read_text().splitlines() if ln.startswith("VmRSS:"))
            total_kb += int(line.split()[1])
        except (OSError, StopIteration):
            pass
    return total_kb / 1024


class RssSampler:
    """Samples ``tree_rss_mb(pid)`` every ``every`` seconds on a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every, self.peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---- one user
@dataclass
class Outcome:
    user: int
    clip: str
    seconds: float | None = None  # click → every view visible
    ready: float | None = None  # page open → clip uploaded and transcript typed (before the common click)
    error: str = ""


async def one_user(browser, url: str, out: Outcome, clip: Path, text: str, ready: list, go: asyncio.Event,
                   timeout_ms: int) -> Outcome:
    """Upload, type, wait for everyone, click, wait for all views of this user's clip (filling in ``out``)."""
    i = out.user
    arrived = False
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(timeout_ms)  # on a loaded 2-core box even opening the page can take > 30 s
    t_open = time.perf_counter()
    try:
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(url)
        await page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=timeout_ms)
        await page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
        await page.locator(T.css(T.CLIP_INPUT)).get_by_text(clip.name, exact=True).wait_for(timeout=timeout_ms)
        await page.wait_for_selector(f'{T.css("analyse")} button:not([disabled])', timeout=timeout_ms)
        box = page.get_by_label(re.compile("^Transcript \\(optional"))
        await box.fill(text)
        await box.press("Control+Enter")
        await page.wait_for_timeout(1500)  # the box's rerun settles before the click
        out.ready = time.perf_counter() - t_open
        print(f"  user {i}: ready to click after {out.ready:.1f} s", flush=True)
        arrived = True
        ready.append(i)
        await go.wait()
        t0 = time.perf_counter()
        await page.locator(f'{T.css("analyse")} button').click()
        for tid in T.CLIP_VIEWS:
            await page.wait_for_selector(T.css(tid), timeout=timeout_ms)
        for tid in (T.TIMELINE, T.ATTENTION):  # charts mount a moment after their container
            await page.wait_for_selector(f"{T.css(tid)} .js-plotly-plot .main-svg", timeout=timeout_ms)
        out.seconds = time.perf_counter() - t0
        card = await page.locator(T.css(T.PREDICTION_CARD)).inner_text()
        problems = []
        if clip.name not in card:
            problems.append(f"the prediction card shows another clip: {card[:80]!r}")
        if await page.locator(T.EXCEPTION).count():
            problems.append("exception: " + (await page.locator(T.EXCEPTION).first.inner_text())[:200])
        if await page.locator(T.ERROR_ALERT).count():
            problems.append("error alert: " + (await page.locator(T.ERROR_ALERT).first.inner_text())[:200])
        if errors:
            problems.append(f"console errors: {errors[:3]}")
        out.error = "; ".join(problems)
        print(f"  user {i}: all views after {out.seconds:.1f} s" + (f" but {out.error}" if out.error else ""), flush=True)
    except Exception as e:  # noqa: BLE001 - a failed user is a result of the test, not a crash of it
        out.error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    finally:
        if not arrived:
            ready.append(i)  # never blocks the others
        await ctx.close()
    return out


async def run_users(url: str, clips: list[tuple[Path, str]], timeout_s: float, settle: float, budget: float,
                    on_start: Callable[[], None] = lambda: None) -> list[Outcome]:
    """All users at once in one browser; ``on_start`` runs when every user is ready to click.
    Users still waiting ``budget`` seconds after the users start are stopped and count as failed."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch_browser(p)
        first = await browser.new_page()
        await first.goto(url)
        await first.wait_for_selector(T.css(T.CLIP_INPUT), timeout=int(timeout_s * 1000))  # the model is loaded
        await first.close()
        await asyncio.sleep(settle)  # background warm-up (AppService.start_warm_up) finishes
        ready: list[int] = []
        go = asyncio.Event()

        async def release() -> None:
            while len(ready) < len(clips):
                await asyncio.sleep(0.2)
            on_start()
            go.set()

        outcomes = [Outcome(i, c.name) for i, (c, _) in enumerate(clips)]
        tasks = [asyncio.create_task(one_user(browser, url, o, c, t, ready, go, int(timeout_s * 1000)))
                 for o, (c, t) in zip(outcomes, clips)]
        releaser = asyncio.create_task(release())
        _, pending = await asyncio.wait(tasks, timeout=budget)
        for t in (*pending, releaser):
            t.cancel()
        await asyncio.gather(*pending, releaser, return_exceptions=True)
        for o, t in zip(outcomes, tasks):
            if t in pending:
                o.error = f"still waiting when the {budget:.0f} s budget ran out" + (" (never ready to click)" if o.ready is None else "")
        await browser.close()
    return outcomes


def explanation_seconds(store: Path) -> list[float]:
    """Seconds of explaining in each explanation the server saved (its ``timings["total"]``), read as plain JSON."""
    import json

    out = []
    for p in (store / "explanations").rglob("*.json"):
        if not p.name.startswith("."):
            out.append(float(json.loads(p.read_text())["record"].get("timings", {}).get("total", 0.0)))
    return out


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 8 users p95 is the slowest)."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(-(-q * len(s) // 100)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--checkpoint", default="default", help="default (the shipped model), tiny (quick run) or a folder")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds each user may wait for any one step")
    ap.add_argument("--settle", type=float, default=20.0, help="seconds between the first page load and the users")
    ap.add_argument("--budget", type=float, default=480.0,
                    help="seconds after the users start when whoever is still waiting is stopped and counted as failed")
    ap.add_argument("--seconds", type=float, default=5.0, help="clip length (clips are this ±1 s)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` / kill: still stop the server, delete the temp folder

    with tempfile.TemporaryDirectory(prefix="mmviz-load-") as tmp:
        clips = speech_clips(Path(tmp) / "clips", a.users, a.seconds, prefix="user")
        t_start = time.perf_counter()
        with streamlit_server({"MMVIZ_CHECKPOINT": a.checkpoint, "MMVIZ_APP_CACHE": str(Path(tmp) / "cache")},
                              timeout=a.timeout) as url:
            pid = SERVERS[url].pid
            rss_start = tree_rss_mb(pid)
            before: list[float] = []
            with RssSampler(pid) as sampler:
                outcomes = asyncio.run(run_users(url, clips, a.timeout, a.settle, a.budget, on_start=lambda: before.append(tree_rss_mb(pid))))
                wall = time.perf_counter() - t_start
                rss_after = tree_rss_mb(pid)
            peak = sampler.peak
        model_s = explanation_seconds(Path(tmp) / "cache" / "results")

    ok = [o for o in outcomes if not o.error and o.seconds is not None]
    secs = [o.seconds for o in ok]
    print(f"checkpoint: {a.checkpoint}  clips: {a.seconds - 1:.0f}-{a.seconds + 1:.0f} s, typed transcripts  "
          f"settle: {a.settle:.0f} s  wall: {wall:.0f} s")
    print(f"{'users':>5} {'ok':>4} {'success':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'RSS start MB':>13} {'before MB':>10} {'peak MB':>8} {'after MB':>9}")
    fmt = (lambda q: f"{percentile(secs, q):7.1f}") if secs else (lambda q: f"{'-':>7}")
    print(f"{a.users:>5} {len(ok):>4} {len(ok) / a.users:>8.0%} {fmt(50)} {fmt(95)} "
          f"{(f'{max(secs):7.1f}' if secs else '      -')} {rss_start:>13.0f} {(before[0] if before else float('nan')):>10.0f} "
          f"{peak:>8.0f} {rss_after:>9.0f}")
    print("per user, click → all views (s): " + ", ".join(
        f"{o.user}:{o.seconds:.1f}" if o.seconds is not None else f"{o.user}:-" for o in outcomes))
    print("per user, page open → ready to click (s): " + ", ".join(
        f"{o.user}:{o.ready:.1f}" if o.ready is not None else f"{o.user}:-" for o in outcomes))
    if model_s:
        print(f"server explaining time per analysis (s, from its records): median {sorted(model_s)[len(model_s) // 2]:.1f}, "
              f"sum {sum(model_s):.0f} over {len(model_s)} analyses (one model, one lock: analyses queue)")
    for o in outcomes:
        if o.error:
            print(f"  user {o.user} ({o.clip}) FAILED: {o.error}")
    return 0 if len(ok) == a.users else 1


if __name__ == "__main__":
    sys.exit(main())
