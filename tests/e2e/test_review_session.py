"""A review session in a real browser: what only a browser shows (progress while it runs, the
player's exact position, chart contents after repeated clicks, presentation layout)."""

from __future__ import annotations

import re

import pytest

from mmviz.testing import testids as T
from mmviz.testing.browser import assert_healthy, shot, write_test_clip

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LONG = 180_000


def settle(page) -> None:
    """Wait until Streamlit has finished the current rerun (the app's script state is no longer "running")."""
    page.wait_for_timeout(400)
    page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                           "?.getAttribute('data-test-script-state') !== 'running'", timeout=LONG)
    page.wait_for_timeout(300)  # let the browser draw what the run sent


def open_demo(page) -> None:
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=LONG)
    page.locator(f'{T.css("open_demo")} button').click()
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    page.wait_for_selector(f"{T.css(T.COUNTERFACTUALS)} .js-plotly-plot", timeout=LONG)  # the whole page has mounted
    settle(page)


def open_options(page, key: str) -> list[str]:
    """Open the selectbox with widget key ``key``; its option texts (retried: a click during a rerun can be lost)."""
    box = page.locator(f'{T.css(key)} input[role="combobox"]')
    for attempt in range(4):
        box.click() if attempt % 2 == 0 else box.press("ArrowDown")
        try:
            page.get_by_role("option").first.wait_for(state="visible", timeout=5_000)
            return [t.strip() for t in page.get_by_role("option").all_inner_texts()]
        except Exception:  # noqa: BLE001 - try again, then fail below
            settle(page)
    raise AssertionError(f"the selectbox {key} did not open")


def pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox with widget key ``key``."""
    open_options(page, key)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def plotly(page, container: str, what: str):
    """A property of the first Plotly chart inside ``container`` (e.g. "data[0].y")."""
    return page.evaluate(f"() => document.querySelector('{T.css(container)} .js-plotly-plot').{what}")


def wait_bars(page, n: int) -> list:
    """The counterfactual chart's bar labels once it has ``n`` bars (or whatever it has after a minute)."""
    try:
        page.wait_for_function(f"() => document.querySelector('{T.css(T.COUNTERFACTUALS)} .js-plotly-plot')?.data[0].y.length"
                               f" === {n}", timeout=60_000)
    except Exception:  # noqa: BLE001 - the assertion below says what the chart holds
        pass
    return plotly(page, T.COUNTERFACTUALS, "data[0].y")


def test_progress_is_visible_while_an_upload_is_analysed_and_the_label_is_kept(page, tmp_path):
    clip = write_test_clip(tmp_path / "long talk.mp4", seconds=8.0)
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=LONG)
    page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    page.locator(T.css(T.CLIP_INPUT)).get_by_text(clip.name, exact=True).wait_for(timeout=60_000)
    settle(page)
    box = page.get_by_label(re.compile("^Label \\(optional"))
    box.fill("1.5")
    box.press("Enter")
    settle(page)
    page.locator(f'{T.css("analyse")} button').click()
    # while it runs: the bar and its stage text are on screen (not folded into a spinner)
    bar = page.locator(f'{T.css(T.ANALYSIS_PROGRESS)} [data-testid="stProgress"]')
    bar.wait_for(state="visible", timeout=60_000)
    stage = bar.inner_text().strip()
    running = page.locator(T.css(T.PREDICTION_CARD)).count() == 0
    shot(page, "progress_while_running", 1000)
    assert stage and running, (stage, running)
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    label = page.locator(f'{T.css(T.PREDICTION_CARD)} [data-testid="stMetric"]', has_text="Label")
    label.wait_for(timeout=60_000)
    assert "+1.50" in label.inner_text()  # the label is on the prediction card
    assert "long talk.mp4" in page.locator(T.css(T.PREDICTION_CARD)).inner_text()
    # done: the box folds to one line
    bar.wait_for(state="hidden", timeout=60_000)
    # the labelled upload is a dataset in the Dataset explorer
    page.locator('[data-testid="stSidebarNav"] a', has_text="Dataset explorer").click()
    page.wait_for_selector('h1:has-text("Dataset explorer")', timeout=LONG)
    page.get_by_text("Labelled uploads", exact=True).click()
    page.wait_for_function(f"() => /Showing 1 of 1 clips/.test(document.querySelector('{T.css(T.CLIP_TABLE)}')?.innerText || '')",
                           timeout=LONG)
    assert_healthy(page)


def test_picking_a_word_seeks_to_its_exact_time(page):
    open_demo(page)
    labels = open_options(page, "word_jump")
    page.keyboard.press("Escape")
    timed = [(float(m.group(1)), lab) for lab in labels if (m := re.match(r"\s*([\d.]+) s · ", lab))]
    t, label = next((t, lab) for t, lab in timed if abs(t - round(t)) > 0.05)  # a word that starts between seconds
    pick(page, "word_jump", label)
    video = f"{T.css(T.VIDEO_PLAYER)} video"
    page.wait_for_function(f"""() => {{ const v = document.querySelector('{video}');
        return v && v.readyState >= 1 && Math.abs(v.currentTime - {t}) < 0.02; }}""", timeout=60_000)
    now = page.evaluate(f"() => document.querySelector('{video}').currentTime")
    assert now == pytest.approx(t, abs=0.02) and int(t) != pytest.approx(t, abs=0.05)
    assert_healthy(page)


def test_repeated_counterfactual_clicks_keep_the_chart_sane(page):
    open_demo(page)
    n0 = len(plotly(page, T.COUNTERFACTUALS, "data[0].y"))
    pick(page, "cf_mask_mod", "audio")
    for _ in range(3):
        page.locator(f'{T.css("cf_mask")} button').click()
        settle(page)
    ys = wait_bars(page, n0 + 1)
    assert len(ys) == n0 + 1, ys  # three clicks, one question, one bar
    assert ys[-1].startswith(f"{n0}. mask audio"), ys
    assert plotly(page, T.COUNTERFACTUALS, "layout.xaxis.range") == [-3.2, 3.2]
    xs = plotly(page, T.COUNTERFACTUALS, "data[0].x")
    assert all(-3.0 <= x <= 3.0 for x in xs)
    page.wait_for_selector(T.css(T.CF_BESIDE), timeout=60_000)  # the masked result beside the original
    for _ in range(3):  # "drop text" is in the explainer's standard set already: not added again
        page.locator(f'{T.css("cf_drop")} button').click()
        settle(page)
    assert len(wait_bars(page, n0 + 1)) == n0 + 1
    assert "already in the chart" in page.locator(T.css(T.COUNTERFACTUALS)).inner_text()
    shot(page, "counterfactuals_repeated", 1000)
    page.locator(f'{T.css("cf_clear")} button').click()
    settle(page)
    assert len(wait_bars(page, n0)) == n0
    assert_healthy(page)


def test_transcript_editing_shows_original_and_edit_side_by_side(page):
    open_demo(page)
    box = page.locator(T.css(T.WHAT_IF)).get_by_label("Transcript to try")
    words = box.input_value().split()
    edited = " ".join(["terrible"] + words[1:])
    box.fill(edited)
    box.press("Control+Enter")
    settle(page)
    page.locator(f'{T.css("wi_run")} button').click()
    page.wait_for_selector(T.css(T.WHAT_IF_COMPARE), timeout=LONG)
    settle(page)
    cmp = page.locator(T.css(T.WHAT_IF_COMPARE))
    text = cmp.inner_text()
    assert "Original transcript" in text and "Edited transcript" in text
    blocks = cmp.locator(".mmviz-words")
    assert blocks.count() == 2
    assert blocks.nth(0).inner_text().split()[0] == words[0] and blocks.nth(1).inner_text().split()[0] == "terrible"
    assert cmp.locator('[data-testid="stMetric"]').count() == 8  # four heads each side
    shot(page, "what_if", 1400)
    assert_healthy(page)


def test_presentation_mode_hides_sidebar_keeps_words_apart_and_labels_whole(page):
    open_demo(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Reports").click()
    page.wait_for_selector('h1:has-text("Reports")', timeout=LONG)
    page.get_by_text("Presentation mode").click()
    page.wait_for_selector(f'{T.css(T.PRESENTATION)} .js-plotly-plot', timeout=LONG)
    settle(page)
    page.wait_for_timeout(1500)  # plotly lays out its text after mounting
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    words = page.locator(f"{T.css(T.PRESENTATION)} .mmviz-words").inner_text()
    assert len(words.split()) >= 4, words  # words keep their spaces
    # no two word labels of the timeline overlap, and no title or label runs past its chart
    boxes = page.evaluate(f"""() => [...document.querySelectorAll('{T.css(T.PRESENTATION)} .js-plotly-plot')].map(p => {{
        const svg = p.querySelector('.main-svg').getBoundingClientRect();
        const texts = [...p.querySelectorAll('.gtitle, .annotation-text, .ytick text, .xtitle, .ytitle')].map(t => {{
            const r = t.getBoundingClientRect(); return [r.left, r.right, t.textContent]; }});
        const words = [...p.querySelectorAll('.scatterlayer .textpoint text')].map(t => {{
            const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, t.textContent]; }});
        return {{left: svg.left, right: svg.right, texts, words}}; }})""")
    for chart in boxes:
        for left, right, text in chart["texts"]:
            if text:
                assert chart["left"] - 1 <= left and right <= chart["right"] + 1, (text, left, right, chart["left"], chart["right"])
    words_boxes = [w for chart in boxes for w in chart["words"]]
    assert len(words_boxes) >= 4
    for i, a in enumerate(words_boxes):
        for b in words_boxes[i + 1:]:
            overlap = min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1
            assert not overlap, (a[4], b[4])
    shot(page, "presentation_mode", 1600)
    assert_healthy(page)
