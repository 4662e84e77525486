"""Page logic with Streamlit's AppTest (no browser) on the tiny model and a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmviz.app import page_path
from mmviz.app_service import ui

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, small_demo_dir):
    monkeypatch.setenv("MMVIZ_CHECKPOINT", "tiny")
    monkeypatch.setenv("MMVIZ_DEMO_DIR", str(small_demo_dir))
    monkeypatch.setenv("MMVIZ_APP_CACHE", str(tmp_path_factory.getbasetemp() / "app-cache"))


def page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(page_path(name)), default_timeout=TIMEOUT)


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_demo(at):
    at.run()
    ok(at)
    at.button(key="open_demo").click().run()
    ok(at)
    return at


def test_clip_review_empty_then_demo_clip():
    at = page("clip_review.py")
    at.run()
    ok(at)
    assert any("Upload a clip" in i.value for i in at.info)
    assert at.get("plotly_chart")  # the demo-set overview, before any clip is opened
    open_demo(at)
    res = at.session_state[ui.RESULT]
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Fused", "Text head", "Audio head", "Visual head"]
    assert any("Verdict" in m.value for m in at.markdown)
    # counterfactual buttons add a new prediction to the chart, on the same clip
    at.button(key="cf_drop").click().run()
    ok(at)
    assert len(at.session_state[ui.CFS]) == 1 and at.session_state[ui.RESULT].key == res.key


def test_word_jump_seeks_the_player():
    at = open_demo(page("clip_review.py"))
    opts = at.selectbox(key="word_jump").options
    at.selectbox(key="word_jump").set_value(opts[2]).run()
    ok(at)
    words = at.session_state[ui.RESULT].features.words
    assert at.session_state[ui.SEEK] == pytest.approx(words[1].start)


def test_bad_upload_message_keeps_earlier_result(tmp_path):
    at = open_demo(page("clip_review.py"))
    before = at.session_state[ui.RESULT].key
    at.session_state[ui.ERROR] = "Could not read broken.mp4: it is not a media file this app can decode."
    at.run()
    ok(at)
    assert any("broken.mp4" in e.value for e in at.error)
    assert at.session_state[ui.RESULT].key == before


def test_untrusted_verdict_text_is_escaped():
    assert ui.plain("<script>x</script> *b*") == "&lt;script&gt;x&lt;/script&gt; \\*b\\*"


def test_dataset_explorer_and_error_analysis():
    at = page("dataset_explorer.py")
    at.run()
    ok(at)
    assert at.dataframe and len(at.dataframe[0].value) > 5
    ea = page("error_analysis.py")
    ea.run()
    ok(ea)
    assert [m.label for m in ea.metric][0].startswith("Has0")


def test_notes_reports_compare_with_a_clip():
    at = open_demo(page("clip_review.py"))
    res = at.session_state[ui.RESULT]
    for name in ("notes.py", "reports.py", "compare.py"):
        p = page(name)
        p.session_state[ui.RESULT] = res
        p.run()
        ok(p)
    p = page("notes.py")
    p.session_state[ui.RESULT] = res
    p.run()
    p.text_area(key="note_text").input("<b>check</b> the voice")
    p.text_input(key="note_tags").input("voice, todo")
    p.button[0].click().run()  # the form's submit button
    ok(p)
    from mmviz.app_service.cached import get_notes

    assert any(n.text == "<b>check</b> the voice" for n in get_notes().for_clip(res.features.content_hash))


def test_word_attribution_method_can_be_changed_and_re_explains():
    at = open_demo(page("clip_review.py"))
    res = at.session_state[ui.RESULT]
    wa = res.explanation.word_attributions
    assert wa.method == "shapley" and any("add up to" in c.value for c in at.caption)
    assert any("In one line" in m.value for m in at.markdown)  # the verdict's plain summary
    at.radio(key="wa_method").set_value("integrated_gradients").run()
    ok(at)
    at.number_input(key="wa_steps").set_value(8).run()
    at.button(key="wa_apply").click().run()
    ok(at)
    new = at.session_state[ui.RESULT]
    assert new.key == res.key and new.explanation.word_attributions.method == "integrated_gradients"
    assert new.explanation.word_attributions.steps == 8 and new.explanation.settings["word_method"] == "integrated_gradients"
    assert any("completeness gap" in c.value for c in at.caption)
