"""Browser-test fixtures: one Streamlit server per module (tiny model, private cache) and Chromium."""

from __future__ import annotations

import pytest

from mmviz.testing.browser import ARTIFACTS, launch_browser, streamlit_server


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    cache = tmp_path_factory.mktemp("appcache")
    with streamlit_server({"MMVIZ_APP_CACHE": str(cache)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call":
        item.rep_call = rep
    return rep


@pytest.fixture
def page(request, browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    pg.goto(app_url)
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        pg.set_viewport_size({"width": 1400, "height": 2000})
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"))
    ctx.close()
