"""Dashboard benchmark: time from clicking "Analyse upload" to every Clip review view on screen.

Starts ``streamlit run app.py`` on a free port with a fresh cache (so nothing is served from
disk), drives Debian's Chromium through Playwright, uploads a 10 s clip made the way the demo
clips are (espeak-ng speech over the animated face; the committed demo clips are 3.6-5.5 s), and
prints a table:

    python bench/app_bench.py [--checkpoint tiny|default|DIR] [--runs 3] [--settle 30]

The first run types a transcript and is cold (features + model + explanations); the next ones
upload the same bytes and transcript and measure the cached path (what a refresh or a second
user sees); the last leaves the box empty, so the speech is recognised offline (pocketsphinx),
cold again because the words differ. Before the first run the page
is opened once and the server is left ``--settle`` seconds: a server that has just started
spends its first ~12 s warming the model up in the background (``AppService.warm_up``), which
is what an analyst arriving later finds done. ``--settle 0`` measures a request that arrives
while that warm-up is still running.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from mmviz.testing import testids as T
from mmviz.testing.browser import launch_browser, streamlit_server
from mmviz.testing.clips import speech_clip


def pick_clip(tmp: Path, seconds: float = 10.0) -> Path:
    """A 10 s clip made like the demo clips: espeak-ng speaking ``TYPED`` over the animated face
    (so the offline-ASR run recognises real speech); a tone over a gradient when espeak-ng is missing."""
    return speech_clip(tmp / "bench10s.mp4", TYPED, seconds, valence=1.5, seed=0)


#: 10 s of speech, typed into the transcript box in the "typed" runs (the analyst's usual flow)
TYPED = ("honestly the acting in this film was wonderful and the story kept me watching "
         "but the ending felt rushed and a little too long for what it had to say")


def one_run(browser, url: str, clip: Path, transcript: str | None = None) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=300_000)
    page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    page.wait_for_selector(f'{T.css("analyse")} button:not([disabled])', timeout=60_000)
    if transcript is not None:
        box = page.get_by_label(re.compile("^Transcript \\(optional"))
        box.fill(transcript)
        box.press("Control+Enter")
        page.wait_for_timeout(1500)  # the box's rerun settles before the click
    t0 = time.perf_counter()
    page.locator(f'{T.css("analyse")} button').click()
    for tid in T.CLIP_VIEWS:
        page.wait_for_selector(T.css(tid), timeout=600_000)
    page.wait_for_selector(f'{T.css(T.TIMELINE)} .js-plotly-plot .main-svg', timeout=60_000)
    page.wait_for_selector(f'{T.css(T.ATTENTION)} .js-plotly-plot .main-svg', timeout=60_000)
    dt = time.perf_counter() - t0
    if page.locator(T.EXCEPTION).count() or errors:
        raise SystemExit(f"the page showed an error: {errors}")
    page.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="tiny")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--settle", type=float, default=30.0, help="seconds between the first page load and the first upload")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        clip = pick_clip(Path(tmp))
        t_start = time.perf_counter()
        with streamlit_server({"MMVIZ_CHECKPOINT": a.checkpoint, "MMVIZ_APP_CACHE": str(Path(tmp) / "cache")}) as url:
            t_server = time.perf_counter() - t_start
            with sync_playwright() as p:
                b = launch_browser(p)
                first = b.new_page()
                first.goto(url)
                first.wait_for_selector(T.css(T.CLIP_INPUT), timeout=300_000)  # the model is loaded, warm-up starts
                time.sleep(a.settle)
                first.close()
                times = [("typed transcript", "cold", one_run(b, url, clip, TYPED))]
                times += [("typed transcript", "cached", one_run(b, url, clip, TYPED)) for _ in range(a.runs - 1)]
                times += [("offline ASR", "cold", one_run(b, url, clip))]
                b.close()
            parts = server_timings(Path(tmp) / "cache")
    print(f"clip: {clip.name}  checkpoint: {a.checkpoint}  server start: {t_server:.1f} s  settle: {a.settle:.0f} s")
    print(f"{'transcript':<18}{'run':<8}{'click → all views visible (s)':>32}")
    for how, kind, t in times:
        print(f"{how:<18}{kind:<8}{t:>32.2f}")
    print("\nserver side, per explanation computed (s; from the records the server saved):")
    for name, row in parts:
        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))


def server_timings(cache: Path) -> list[tuple[str, dict[str, float]]]:
    """Where each cold run's model time went: the ``timings`` of every explanation record saved
    (read as plain JSON: only numbers are needed)."""
    import json

    out = []
    for p in sorted((cache / "app" / "explanations").glob("*/*-full.json"), key=lambda q: q.stat().st_mtime):
        rec = json.loads(p.read_text())["record"]
        words = (rec.get("word_attributions") or {}).get("words") or []
        row = {k.replace("shared pass: ", "pass "): float(v) for k, v in rec["timings"].items() if k != "prediction"}
        out.append((f"{len(words)} words", row))
    return out


if __name__ == "__main__":
    main()
