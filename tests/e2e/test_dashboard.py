"""The dashboard in a real browser (Debian Chromium via Playwright) against `streamlit run app.py`."""

from __future__ import annotations

import re

import pytest

from mmviz.testing import testids as T
from mmviz.testing.browser import assert_healthy, shot, write_test_clip

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LONG = 180_000


def goto_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    page.wait_for_selector(f'h1:has-text("{title}")', timeout=LONG)


def upload(page, path, transcript: str | None = None) -> None:
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=LONG)
    page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.locator(T.css(T.CLIP_INPUT)).get_by_text(path.name, exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # let the upload's rerun settle before clicking
    if transcript is not None:
        box = page.get_by_label(re.compile("^Transcript \\(optional"))
        box.fill(transcript)
        box.press("Control+Enter")
    page.locator(f'{T.css("analyse")} button').click()


def test_upload_shows_all_views_and_escapes_transcript(page, tmp_path):
    clip = write_test_clip(tmp_path / "talk.mp4")
    evil = "<script>window.__pwned = 1</script> this <b>was</b> great"
    upload(page, clip, evil)
    for tid in T.CLIP_VIEWS:
        page.wait_for_selector(T.css(tid), timeout=LONG)
    assert "Fused" in page.locator(T.css(T.PREDICTION_CARD)).inner_text()
    for tid in (T.TIMELINE, T.ATTENTION):  # charts mount a moment after their container
        page.wait_for_selector(f'{T.css(tid)} .js-plotly-plot', timeout=60_000)
        assert page.locator(f'{T.css(tid)} .js-plotly-plot').count() == 1
    words = page.locator(T.css(T.WORDS)).inner_text()
    assert "<script>window.__pwned = 1</script>" in words  # shown as text …
    assert page.evaluate("window.__pwned") is None  # … never run
    assert page.locator(f"{T.css(T.WORDS)} b").count() == 0
    shot(page, "clip_review", 4200)
    assert_healthy(page)


def test_corrupt_upload_shows_message_and_keeps_result(page, tmp_path):
    good = write_test_clip(tmp_path / "good.mp4")
    upload(page, good)
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    upload(page, bad)
    page.wait_for_selector(T.css(T.CLIP_ERROR), timeout=LONG)
    # the error box takes the place of the earlier views: while the rerun lands, Streamlit may still show
    # stale children in it, so wait for the message itself (it must name the user's file)
    page.wait_for_function(f"""() => /broken\\.mp4/.test(document.querySelector('{T.css(T.CLIP_ERROR)}')?.innerText || '')""",
                           timeout=60_000)
    # the earlier result is kept but not shown under the error as if it were broken.mp4's: one click, named, brings it back
    page.wait_for_timeout(1000)
    assert page.locator(T.css(T.PREDICTION_CARD)).count() == 0
    show = page.locator(f'{T.css("show_earlier")} button')
    assert show.inner_text() == "Show the earlier result (good.mp4)"
    shot(page, "corrupt_upload", 1400)
    show.click()
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    assert "good.mp4" in page.locator(T.css(T.PREDICTION_CARD)).inner_text()
    assert page.locator(T.css(T.CLIP_ERROR)).count() == 0
    assert_healthy(page)


def test_map_click_filters_table_and_opens_clip(page):
    goto_page(page, "Dataset explorer")
    page.wait_for_selector(f'{T.css(T.TSNE_MAP)} .js-plotly-plot .point', timeout=LONG)
    table = page.locator(T.css(T.CLIP_TABLE))
    assert re.search(r"Showing (\d+) of \1 clips", table.inner_text())
    page.get_by_text("box", exact=True).click()  # drag-to-select mode (the default "click" mode pans on drag)
    page.wait_for_timeout(2000)
    box = page.locator(f'{T.css(T.TSNE_MAP)} .js-plotly-plot .scatterlayer .point').nth(3).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 8, y - 8)  # a small box selection around one point
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=8)
    page.mouse.up()
    page.wait_for_function(f"""() => /Showing 1 of/.test(document.querySelector('{T.css(T.CLIP_TABLE)}').innerText)""", timeout=60_000)
    shot(page, "dataset_explorer", 1400)
    # choose the row → open it in Clip review
    page.locator(f'{T.css(T.CLIP_TABLE)} [data-testid="stDataFrame"]').click(position={"x": 16, "y": 54})
    page.locator(f'{T.css("open_in_review")} button').click()
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    assert_healthy(page)


def test_report_export_and_other_pages(page, tmp_path):
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=LONG)
    page.locator(f'{T.css("open_demo")} button').click()
    page.wait_for_selector(T.css(T.PREDICTION_CARD), timeout=LONG)
    goto_page(page, "Reports")
    with page.expect_download() as dl:
        page.locator(f'{T.css("dl_clip")} button').click()
    out = tmp_path / "report.html"
    dl.value.save_as(out)
    doc = out.read_text()
    assert doc.startswith("<!DOCTYPE html>") and "checkpoint hash" in doc and "plotly" in doc.lower()
    assert len(doc) > 1_000_000  # plotly.js inline: works offline
    page.get_by_text("Presentation mode").click()
    page.wait_for_selector(T.css(T.PRESENTATION), timeout=LONG)
    shot(page, "presentation", 1100)
    page.get_by_text("Presentation mode").click()  # presentation mode hides the sidebar: leave it to navigate
    page.wait_for_selector(T.css(T.REPORT_EXPORT), timeout=LONG)
    goto_page(page, "Error analysis")
    page.wait_for_selector(T.css(T.METRICS), timeout=LONG)
    shot(page, "error_analysis", 2400)
    goto_page(page, "Notes and tags")
    page.get_by_label("Note", exact=True).fill("<img src=x onerror=alert(1)> check the smile")
    page.get_by_label("Tags (comma-separated)").fill("smile, <b>bold</b>")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_selector(f'{T.css(T.NOTES_LIST)} [data-testid="stDataFrame"]', timeout=LONG)
    shot(page, "notes", 1000)
    goto_page(page, "Compare checkpoints")
    page.wait_for_selector(".st-key-compare-clip", timeout=LONG)
    shot(page, "compare", 1800)
    assert_healthy(page)
