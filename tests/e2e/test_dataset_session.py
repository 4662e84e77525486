"""A dataset session in a real browser: click-select on the map, a user slice and its metrics, similar clips."""

from __future__ import annotations

import re

import pytest

from mmviz.testing import testids as T
from mmviz.testing.browser import ARTIFACTS, assert_healthy, streamlit_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LONG = 300_000
POINTS = f'{T.css(T.TSNE_MAP)} .js-plotly-plot .scatterlayer .point'


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, small_demo_dir):
    """This module's server: the first 8 demo clips (scoring all 48 takes minutes on a busy CPU)."""
    ARTIFACTS.mkdir(exist_ok=True)
    cache = tmp_path_factory.mktemp("ds-session-cache")
    with streamlit_server({"MMVIZ_APP_CACHE": str(cache), "MMVIZ_DEMO_DIR": str(small_demo_dir)}) as url:
        yield url


def open_explorer(page) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text="Dataset explorer").click()
    page.wait_for_selector('h1:has-text("Dataset explorer")', timeout=LONG)
    page.wait_for_selector(POINTS, timeout=LONG)
    page.wait_for_timeout(1500)  # let plotly finish its first layout


def table_text(page) -> str:
    return page.locator(T.css(T.CLIP_TABLE)).inner_text()


def click_point(page, n: int) -> None:
    """One plain click on the n-th point (plotly selects on click only over a hovered point)."""
    box = page.locator(POINTS).nth(n).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(400)
    page.mouse.click(x, y)
    page.wait_for_function(f"""() => /Showing 1 of/.test(document.querySelector('{T.css(T.CLIP_TABLE)}').innerText)""",
                           timeout=60_000)


def test_single_click_on_a_point_filters_the_table_to_that_clip(page):
    open_explorer(page)
    assert re.search(r"Showing (\d+) of \1 clips", table_text(page))
    page.wait_for_selector(f"{T.css(T.ALIGNMENT)} table", timeout=LONG)  # beside the map
    page.wait_for_selector(f"{T.css(T.VERDICTS)} .js-plotly-plot", timeout=LONG)
    assert "R@1" in page.locator(T.css(T.ALIGNMENT)).inner_text()
    click_point(page, 3)
    assert "Showing 1 of" in table_text(page)
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "dataset_click_select.png"))
    assert_healthy(page)


def test_select_on_the_map_save_a_slice_and_see_its_metrics(page):
    open_explorer(page)
    click_point(page, 5)
    page.locator(T.css(T.SLICES)).get_by_label("Slice name").fill("my odd clip")
    page.locator(T.css(T.SLICES)).get_by_label("Slice name").press("Enter")
    page.wait_for_timeout(800)
    page.locator(f'{T.css("slice_save")} button').click()
    page.wait_for_function(f"""() => /my odd clip/.test(document.querySelector('{T.css(T.SLICES)}').innerText)""", timeout=60_000)
    slices = page.locator(f"{T.css(T.SLICES)} table")
    slices.wait_for(timeout=60_000)
    page.wait_for_function(f"""() => (document.querySelector('{T.css(T.SLICES)} table')?.innerText.match(/my odd clip/g) || []).length >= 1""",
                           timeout=60_000)
    text = slices.inner_text()
    assert "Acc-2" in text and "MAE" in text and "fused" in text and "visual" in text
    rows = [r for r in text.splitlines() if "my odd clip" in r or r.strip().startswith(("fused", "text", "audio", "visual"))]
    assert rows  # the slice's rows are in the metrics table
    # choose the clip's row → its most similar clips
    page.locator(f'{T.css(T.CLIP_TABLE)} [data-testid="stDataFrame"]').click(position={"x": 16, "y": 54})
    page.wait_for_selector(T.css(T.SIMILAR), timeout=60_000)
    assert "most similar" in page.locator(T.css(T.SIMILAR)).inner_text()
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "dataset_slice.png"))
    assert_healthy(page)
