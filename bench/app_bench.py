"""Dashboard benchmark: time from clicking "Analyse upload" to every Clip review view on screen.

Starts ``streamlit run app.py`` on a free port with a fresh cache (so nothing is served from
disk), drives Debian's Chromium through Playwright, uploads a 10 s clip (a demo clip when one of
about that length is installed, else a generated one), and prints a table:

    python bench/app_bench.py [--checkpoint tiny|default|DIR] [--runs 3]

The first run is cold (features + model + explanations); later runs upload the same bytes and
measure the cached path (what a refresh or a second user sees).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from e2e import testids as T  # noqa: E402
from e2e.helpers import launch_browser, streamlit_server, write_test_clip  # noqa: E402


def pick_clip(tmp: Path) -> Path:
    try:
        import av
        import pandas as pd

        from mmviz.demo import default_demo_dir

        meta = pd.read_csv(default_demo_dir() / "metadata.csv")
        for f in meta["file"]:
            p = default_demo_dir() / str(f)
            with av.open(str(p)) as c:
                if c.duration and c.duration / 1e6 >= 7.5:
                    return p
    except Exception:  # demo set not installed: use a generated clip
        pass
    return write_test_clip(tmp / "bench10s.mp4", seconds=10.0)


def one_run(browser, url: str, clip: Path) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=300_000)
    page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    page.wait_for_selector(f'{T.css("analyse")} button:not([disabled])', timeout=60_000)
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
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        clip = pick_clip(Path(tmp))
        t_start = time.perf_counter()
        with streamlit_server({"MMVIZ_CHECKPOINT": a.checkpoint, "MMVIZ_APP_CACHE": str(Path(tmp) / "cache")}) as url:
            t_server = time.perf_counter() - t_start
            with sync_playwright() as p:
                b = launch_browser(p)
                times = [one_run(b, url, clip) for _ in range(a.runs)]
                b.close()
    print(f"clip: {clip.name}  checkpoint: {a.checkpoint}  server start: {t_server:.1f} s")
    print(f"{'run':<8}{'upload → all views visible (s)':>32}")
    for i, t in enumerate(times):
        print(f"{('cold' if i == 0 else 'cached'):<8}{t:>32.2f}")


if __name__ == "__main__":
    main()
