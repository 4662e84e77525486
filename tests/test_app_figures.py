"""Figure builders are pure: records in, Plotly figures out."""

from __future__ import annotations

import pytest

from mmviz import figures as F
from mmviz.figures import clip as cf
from mmviz.app_service.datasets import score_clips
from mmviz.app_service.service import AppService
from mmviz.testing.tiny import clip_for


@pytest.fixture(scope="module")
def svc_res_ds(tmp_path_factory):
    svc = AppService("tiny", tmp_path_factory.mktemp("cache"))
    clips = [clip_for(svc.runner, i) for i in range(10)]
    return svc, svc.analyze(clips[0]), score_clips(svc, "ten", clips, labels=[(-1.0) ** i for i in range(10)])


@pytest.fixture(scope="module")
def res_ds(svc_res_ds):
    return svc_res_ds[1:]


def test_clip_figures(res_ds):
    res, _ = res_ds
    ins, ex, f = res.inspection, res.explanation, res.features
    tl = F.timeline(f, ex, decisive_span=(0.5, 1.5), cursor=1.0)
    names = [a.text for a in tl.layout.annotations]
    assert {"rms_db", "pitch_hz", "face_present", "transcript"} <= set(names)
    assert any("audio" in n for n in names) and any("visual" in n for n in names)
    hm = F.attention_heatmap(ex.attention, 0, None)
    assert hm.data[0].z.shape == (ins.n_tokens, ins.cross_attention.shape[-1])
    assert any(str(x).startswith("A ") for x in hm.data[0].x) and any(str(x).startswith("V ") for x in hm.data[0].x)
    assert len(F.token_norms(ins).data) == ins.n_tokens
    share = F.token_modality_share(ex)  # the explainer's TokenDiagnostics, not recomputed
    assert [tr.name for tr in share.data] == ["null", "audio", "visual"]
    assert list(share.data[1].y) == pytest.approx(list(ex.token_diagnostics.attention_share_overall[:, 1]))
    cb = F.contribution_bars(ex)
    assert list(cb.data[0].y) == ["text", "audio", "visual"] and list(cb.data[1].y) == ["together"]
    assert cb.data[0].xaxis != cb.data[1].xaxis  # the interaction is not drawn on the Shapley axis
    assert all(len(tr.text) == len(tr.x) and all(tr.text) for tr in cb.data)  # every bar numbered
    assert sum(cb.data[0].x) == pytest.approx(ex.shapley.full - ex.shapley.base, abs=1e-9)
    assert len(F.counterfactual_bars(0.1, ex.counterfactuals).data[0].x) == 1 + len(ex.counterfactuals)
    assert F.prediction_bars(ins).data[0].x[0] == pytest.approx(ins.predictions.fused)


def _numbered(fig) -> bool:
    """Every bar of every bar trace carries its number (a text or a text template)."""
    bars = [tr for tr in fig.data if tr.type == "bar"]
    return bool(bars) and all(tr.texttemplate or (tr.text is not None and len(tr.text) == len(tr.y)) for tr in bars)


def test_fusion_inspector_figures_show_per_clip_quantities(svc_res_ds):
    import numpy as np

    from mmviz.app.app_pages.clip_sections.fusion_inspector import dataset_dead_tokens

    svc, res, ds = svc_res_ds
    ins, ex = res.inspection, res.explanation
    tok = ex.token_diagnostics
    up = cf.block_update_bars(ex)  # the model's recorded update sizes, not the gates
    assert [tr.name for tr in up.data] == ["cross-attention", "feed-forward"]
    assert list(up.data[0].y) == pytest.approx(list(ins.block_updates[:, :, 0].mean(1)), rel=1e-5)
    tp = cf.token_prediction_bars(ex, dead=(1,))
    assert list(tp.data[0].y) == pytest.approx(list(ins.predictions.tokens), rel=1e-5)
    assert tp.data[0].x[1].endswith("†")
    bs = cf.attention_block_share(ex)
    np.testing.assert_allclose(np.sum([tr.y for tr in bs.data], axis=0), 1.0, atol=1e-5)
    ts = cf.attention_time_share(ex)
    assert len(ts.data[0].x) == len(tok.time_share) <= 12
    ag = cf.attention_attribution_agreement(ex)
    assert set(ag.data[0].x) == set(ex.attention_vs_attribution)
    rep, note = dataset_dead_tokens(svc.store, ds.table, ins.checkpoint_hash, "ten")
    assert rep is not None and rep.n_clips == 10 and "10 scored clips" in note
    dd = cf.dead_token_bars(rep)
    assert list(dd.data[0].y) == pytest.approx(list(rep.av_share_max))
    for fig in (up, tp, bs, ts, ag, dd, F.token_modality_share(ex), F.fusion_gates(ins)):
        assert _numbered(fig), fig.layout.title.text
    sim = cf.token_similarity(ex)
    assert sim.data[0].texttemplate and sim.data[0].z.shape == (ins.n_tokens, ins.n_tokens)
    # gates are stated once, as constants of the checkpoint
    assert "constants of this checkpoint" in cf.gate_caption(ins)
    # no scored dataset: no report, and the figure says why
    rep0, note0 = dataset_dead_tokens(svc.store, ds.table.assign(content_hash="nope"), ins.checkpoint_hash, "ten")
    assert rep0 is None and "none of the 10 clips" in note0
    assert "dataset" in cf.dead_token_bars(None).layout.annotations[0].text


def test_inspector_figures_say_when_an_old_record_lacks_block_updates(res_ds):
    import dataclasses

    res, _ = res_ds
    ex = res.explanation
    old = dataclasses.replace(ex, token_diagnostics=dataclasses.replace(ex.token_diagnostics, block_update=None,
                                                                        token_predictions=None))
    assert "before the model recorded" in cf.block_update_bars(old).layout.annotations[0].text
    assert "before per-token scores" in cf.token_prediction_bars(old).layout.annotations[0].text


def test_dataset_figures(res_ds):
    _, ds = res_ds
    m = F.dataset_map(ds.table, "largest unimodal head (rule)", highlight=(0.0, 0.0), highlight_name="<i>x</i>")
    assert m.layout.dragmode == "pan" and "&lt;i&gt;" in m.data[-1].text[0]  # click-select mode (see SELECT_MODES)
    assert F.dataset_map(ds.table, select="box").layout.dragmode == "select"
    assert F.confusion_matrix(ds.table, 2).data[0].z.sum() == len(ds.table)
    assert F.confusion_matrix(ds.table, 7).data[0].z.shape == (7, 7)
    assert len(F.slice_accuracy(ds.table, "loudest_head").data) == 4


def test_word_html_is_escaped():
    out = F.word_attribution_html(["<script>alert(1)</script>", "ok"], [0.5, -0.5])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "± 0.1000" in F.word_attribution_html(["a", "b"], [0.5, -0.5], [0.1, 0.0])


def test_demo_overview_counts_clips_by_planted_decisive_modality():
    import pandas as pd

    t = pd.DataFrame({"decisive_modality": ["text", "audio", "audio", None], "scenario": ["single", "single", "conflict", "neutral"]})
    fig = F.demo_overview(t)
    counted = {(tr.name, x): y for tr in fig.data for x, y in zip(tr.x, tr.y)}
    assert counted == {("single", "text"): 1, ("single", "audio"): 1, ("conflict", "audio"): 1, ("neutral", "none"): 1}


def test_neutral_points_stay_visible_on_the_white_background(res_ds):
    from plotly.colors import hex_to_rgb

    from mmviz.figures import dataset as dfig

    _, ds = res_ds
    fig = F.dataset_map(ds.table, "prediction")
    scale = fig.layout.coloraxis.colorscale
    mid = [c for p, c in scale if abs(p - 0.5) < 1e-9][0]
    assert sum(hex_to_rgb(mid)) / 3 < 200  # a visible grey, not RdBu's near-white #f7f7f7
    line = fig.data[0].marker.line
    assert line.color not in ("white", "#ffffff", "#fff") and sum(hex_to_rgb(line.color)) / 3 < 128 and line.width > 0
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-3, 3)  # so 0 (neutral) sits at the grey middle
    assert dfig.DIVERGING[2][1] == mid


def test_verdict_figures_label_ground_truth_and_rules_apart():
    import numpy as np
    import pandas as pd

    from mmviz.figures.dataset import error_by_verdict, verdict_shares

    t = pd.DataFrame({"model_dominant": ["text", "audio", "text", "visual"], "model_conflict": [True, False, False, False],
                      "planted_modality": ["text", "text", "audio", ""], "loudest_head": ["text"] * 4,
                      "correct": [1.0, 0.0, 1.0, np.nan]})
    names = {tr.name for tr in verdict_shares(t).data}
    assert names == {"model (Shapley)", "planted (ground truth)", "largest unimodal head (rule)"}
    model = [tr for tr in verdict_shares(t).data if tr.name == "model (Shapley)"][0]
    assert dict(zip(model.x, model.y))["text"] == 0.5
    err = error_by_verdict(t).data[0]
    assert dict(zip(err.x, err.y))["dominant: audio"] == 1.0 and dict(zip(err.x, err.y))["conflict"] == 0.0
