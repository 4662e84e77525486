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
    # a counterfactual the explainer's standard set already holds is not added twice; a new one is, on the same clip
    at.button(key="cf_drop").click().run()
    ok(at)
    assert len(at.session_state[ui.CFS]) == 0 and any("already in the chart" in i.value for i in at.info)
    at.selectbox(key="cf_mask_mod").set_value("audio").run()
    at.button(key="cf_mask").click().run()
    ok(at)
    assert len(at.session_state[ui.CFS]) == 1 and at.session_state[ui.RESULT].key == res.key


def test_word_jump_seeks_the_player():
    at = open_demo(page("clip_review.py"))
    opts = at.selectbox(key="word_jump").options
    at.selectbox(key="word_jump").set_value(opts[2]).run()
    ok(at)
    words = at.session_state[ui.RESULT].features.words
    assert at.session_state[ui.SEEK] == pytest.approx(words[1].start)
    # the player opens at that exact time (a media fragment), not at the whole second below it
    players = [h.proto.body for h in at.get("html") if "mmviz-player" in h.proto.body]
    assert len(players) == 1 and f"#t={words[1].start:.3f}" in players[0], players


def test_bad_upload_message_keeps_earlier_result(tmp_path):
    at = open_demo(page("clip_review.py"))
    before = at.session_state[ui.RESULT]
    at.session_state[ui.ERROR] = "Could not read broken.mp4: it is not a media file this app can decode."
    at.session_state[ui.FAILED] = "broken.mp4"
    at.run()
    ok(at)
    assert any("broken.mp4" in e.value for e in at.error)
    assert at.session_state[ui.RESULT].key == before.key  # kept …
    assert not at.metric  # … but not shown under the error as if it were the failed upload's
    show = at.button(key="show_earlier")
    assert show.label == f"Show the earlier result ({before.features.clip_id})"
    show.click().run()
    ok(at)
    assert not at.error and [m.label for m in at.metric][:1] == ["Fused"]


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


def test_label_field_validates_and_the_card_shows_the_label():
    at = page("clip_review.py")
    at.run()
    for bad, says in (("5", "outside the sentiment scale"), ("very good", "not a number")):
        at.text_input(key="upload_label").input(bad).run()
        ok(at)
        assert any(says in e.value for e in at.error) and at.button(key="analyse").disabled
    at.text_input(key="upload_label").input("−1.5").run()  # a typographic minus is fine
    assert not at.error
    open_demo(at)
    label = at.session_state[ui.RESULT].label
    assert label is not None and [m.value for m in at.metric if m.label == "Label"] == [f"{label:+.2f}"]


def test_counterfactuals_are_numbered_deduplicated_and_cleared():
    at = open_demo(page("clip_review.py"))
    n_std = len(at.session_state[ui.RESULT].explanation.counterfactuals)
    at.selectbox(key="cf_mask_mod").set_value("visual").run()
    for _ in range(3):
        at.button(key="cf_mask").click().run()
        ok(at)
    assert len(at.session_state[ui.CFS]) == 1  # three clicks, one question, one bar
    r, preds = at.session_state[ui.CFS][0]
    assert r.details["modalities"] == ["visual"] and r.name.startswith("mask visual")
    import json

    fig = json.loads([c for c in at.get("plotly_chart") if "Counterfactual" in c.proto.spec][0].proto.spec)
    ys = list(fig["data"][0]["y"])
    assert ys[0] == "original clip" and len(ys) == n_std + 2
    assert all(y.startswith(f"{i}. ") for i, y in enumerate(ys[1:], start=1)) and ys[-1].startswith(f"{n_std + 1}. mask visual")
    assert fig["layout"]["xaxis"]["range"] == [-3.2, 3.2]
    # the masked result beside the original, head by head
    beside = at.dataframe[-1].value
    assert list(beside["head"]) == ["fused", "text", "audio", "visual"]
    assert beside["changed"].iloc[0] == pytest.approx(preds.fused)
    at.button(key="cf_clear").click().run()
    ok(at)
    assert at.session_state[ui.CFS] == []


def test_what_if_transcript_shows_original_and_edit_side_by_side():
    at = open_demo(page("clip_review.py"))
    res = at.session_state[ui.RESULT]
    words = res.features.transcript.split()
    edited = " ".join(["terrible"] + words[1:])
    at.text_area(key=f"wi_text-{res.key}").input(edited).run()
    at.button(key="wi_run").click().run()
    ok(at)
    key, new = at.session_state[ui.WHAT_IF]
    assert key == res.key and new.features.transcript == edited
    assert [w.start for w in new.features.words] == [w.start for w in res.features.words]  # one-for-one edit keeps times
    assert new.explanation.word_attributions.words[0] == "terrible"
    fused = [m for m in at.metric if m.label == "Fused"]
    assert len(fused) == 3  # the card, the original column, the edited column
    assert fused[2].value == f"{new.inspection.predictions.fused:+.2f}"
    assert at.session_state[ui.RESULT].key == res.key  # the clip under review is still the original


def test_presentation_mode_hides_the_sidebar_and_keeps_words_apart():
    at = open_demo(page("clip_review.py"))
    p = page("reports.py")
    p.session_state[ui.RESULT] = at.session_state[ui.RESULT]
    p.session_state[ui.PRESENT] = True
    p.run()
    ok(p)
    css = " ".join(h.proto.body for h in p.get("html"))
    assert 'data-testid="stSidebar"' in css and "display: none" in css
    assert not p.get("download_button")  # the clip alone


def test_labelled_uploads_open_in_dataset_explorer_and_error_analysis():
    from mmviz.app_service.backend import cache_dir
    from mmviz.app_service.datasets import UPLOADS
    from mmviz.app_service.service import AppService
    from mmviz.testing.tiny import clip_for

    svc = AppService("tiny", cache_dir())  # the server's cache: what Clip review writes when a labelled upload is analysed
    for i, (text, lab) in enumerate([("good", 2.0), ("bad", -2.0), ("fine", 1.0), ("awful", -3.0), ("great", 2.5), ("meh", -0.5)]):
        svc.remember_label(clip_for(svc.runner, 200 + i, duration=2.0, text=text), lab)
    at = page("dataset_explorer.py")
    at.run()
    at.radio(key="ds_kind").set_value(UPLOADS).run()
    ok(at)
    table = at.dataframe[0].value
    assert len(table) == 6 and sorted(table["label"]) == [-3.0, -2.0, -0.5, 1.0, 2.0, 2.5]
    ds = at.session_state[ui.DATASET]
    ea = page("error_analysis.py")
    ea.session_state[ui.DATASET] = ds
    ea.run()
    ok(ea)
    assert UPLOADS in ea.caption[0].value and ea.metric
