"""Modality-competition diagnostics (mmviz.data.competition), alignment view and checkpoint comparison records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmviz.data.comparison import compare_tables
from mmviz.data.competition import (CompetitionReport, ModelReadout, competition_report, crowded_out, linear_probe,
                                    scores)
from mmviz.errors import DatasetError, MmvizError
from mmviz.explain.alignment_view import alignment_view, common_space
from mmviz.records.serialize import load_record, records_equal, save_record

N = 60


def _labels(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3, 3, N)


def _informative(y: np.ndarray, d: int, seed: int, noise: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(y), d))
    x[:, 0] = y + noise * rng.normal(size=len(y))
    return x


def _noise(d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N, d))


def _readout(name, emb, heads, strategy="deep") -> ModelReadout:
    return ModelReadout(name, f"hash-{name}", strategy, emb, heads)


def test_scores_are_acc2_mae_and_r():
    s = scores([1.0, -1.0, 2.0, -0.5], [0.5, 0.5, 2.0, -1.0])
    assert s["acc2"] == pytest.approx(0.75) and s["mae"] == pytest.approx((0.5 + 1.5 + 0 + 0.5) / 4)
    assert s["r"] == pytest.approx(np.corrcoef([1, -1, 2, -0.5], [0.5, 0.5, 2, -1])[0, 1])
    assert np.isnan(scores([1.0, 1.0], [1.0, -1.0])["r"])


def test_a_probe_reads_an_informative_embedding_and_not_noise():
    y = _labels()
    good = linear_probe(_informative(y, 8, 1), y)
    bad = linear_probe(_noise(8, 2), y)
    assert good["acc2"] > 0.9 and good["r"] > 0.9
    assert bad["acc2"] < 0.75 and good["mae"] < bad["mae"]


def test_the_rule_flags_a_modality_weak_inside_the_fused_model_but_strong_alone():
    y = _labels()
    heads = {m: y + np.random.default_rng(3).normal(size=N) for m in ("text", "audio", "visual")}
    fused = _readout("fused", {"text": _informative(y, 12, 1), "audio": _noise(6, 2), "visual": _informative(y, 6, 3)}, heads)
    ume = _readout("ume", {"text": _informative(y, 12, 4), "audio": _informative(y, 6, 5), "visual": _informative(y, 6, 6)},
                   heads, "ume")
    rep = competition_report(fused, y, ume)
    assert rep.crowded_out == ("audio",)
    t = rep.table().set_index("modality")
    assert t.loc["audio", "probe gap"] <= -0.10 and bool(t.loc["audio", "crowded out"])
    # the flags are exactly the rule applied to the table
    assert tuple(m for m in rep.modalities if crowded_out(rep.probe_fused[m]["acc2"], rep.probe_reference[m]["acc2"],
                                                          rep.majority, rep.margin)) == rep.crowded_out
    assert "0.10" in rep.rule and rep.reference_strategy == "ume"
    # without a reference nothing is flagged, the fused probes are still there
    alone = competition_report(fused, y)
    assert not alone.has_reference and alone.crowded_out == () and set(alone.probe_fused) == {"text", "audio", "visual"}


def test_rule_edges():
    assert crowded_out(0.6, 0.7, 0.55) and not crowded_out(0.65, 0.7, 0.55)
    assert not crowded_out(0.3, 0.5, 0.55)  # the reference is no better than the majority class: nothing to crowd out


def test_unlabelled_clips_are_dropped_and_too_few_labels_is_a_user_error():
    y = _labels()
    y_some = y.copy()
    y_some[5:] = np.nan
    ro = _readout("f", {"text": _informative(y, 4, 1)}, {"text": y})
    with pytest.raises(DatasetError, match="at least 10 labelled clips; this dataset has 5"):
        competition_report(ro, y_some)
    with pytest.raises(DatasetError, match="one side of zero"):
        competition_report(ro, np.abs(y))
    y_part = y.copy()
    y_part[:10] = np.nan
    assert competition_report(ro, y_part).n == N - 10
    with pytest.raises(MmvizError, match="same clips"):
        competition_report(ro, y[:20])


def test_the_report_is_a_record_that_round_trips(tmp_path):
    y = _labels()
    ro = _readout("f", {"text": _informative(y, 4, 1), "audio": _noise(3, 2)}, {"text": y, "audio": -y})
    rep = competition_report(ro, y, _readout("r", {"text": _noise(4, 7), "audio": _informative(y, 3, 8)}, {"text": y, "audio": y}))
    back = load_record(save_record(rep, tmp_path / "comp"))
    assert isinstance(back, CompetitionReport) and records_equal(rep, back)
    assert back.crowded_out == rep.crowded_out == ("audio",)


# ---------------------------------------------------------------- alignment view
def test_alignment_view_projects_unequal_widths_and_measures_every_pair():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 4))
    emb = {"text": z @ rng.normal(size=(4, 12)), "audio": z @ rng.normal(size=(4, 6)), "visual": rng.normal(size=(30, 6))}
    v = alignment_view(emb, [f"c{i}" for i in range(30)])
    assert v.projection == "ridge" and v.space == "audio" and v.xy.shape == (90, 2)
    assert list(v.point_modality[:30]) == [0] * 30 and list(v.point_clip[30:33]) == [0, 1, 2]
    ta, av = v.report("text", "audio"), v.report("audio", "visual")
    assert ta.r_at_1_a_to_b > 0.8 and ta.mean_cosine > ta.mean_cosine_mismatched + 0.5  # text predicts audio
    assert av.r_at_5_a_to_b < 0.6  # visual is noise
    assert [r["pair"] for r in v.metrics()] == ["text ↔ audio", "text ↔ visual", "audio ↔ visual"]


def test_equal_widths_are_used_as_they_are_and_tsne_works():
    rng = np.random.default_rng(1)
    emb = {m: rng.normal(size=(12, 5)) for m in ("text", "audio", "visual")}
    vecs, proj, space = common_space(emb)
    assert proj == "none" and space == "shared" and np.array_equal(vecs["text"], emb["text"])
    v = alignment_view(emb, range(12), method="tsne")
    assert v.method == "tsne" and v.xy.shape == (36, 2) and np.isfinite(v.xy).all()
    with pytest.raises(MmvizError, match="at least 4 clips"):
        alignment_view({m: e[:3] for m, e in emb.items()}, range(3))
    with pytest.raises(MmvizError, match="two modalities"):
        alignment_view({"text": emb["text"]}, range(12))


# ---------------------------------------------------------------- checkpoint comparison
def _table(preds, dominant, shap, labels=(1.0, -1.0, 2.0, -2.0)):
    t = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "label": list(labels), "pred_fused": preds,
                      "model_dominant": dominant})
    for i, m in enumerate(("text", "audio", "visual")):
        t[f"shap_{m}"] = shap[:, i]
    return t


def test_compare_tables_counts_flips_verdict_changes_and_shapley_shifts():
    s0 = np.zeros((4, 3))
    s1 = s0.copy()
    s1[:, 1] = [0.5, -0.5, 0.0, 0.0]
    cmp = compare_tables({"A": _table([1.0, -1.0, 1.0, -1.0], ["text"] * 4, s0),
                          "B": _table([-1.0, -1.0, 1.0, 1.0], ["audio", "text", "text", "text"], s1)})
    assert cmp.flips == {"B": 2} and list(cmp.predictions["flip:B"]) == [True, False, False, True]
    assert list(cmp.verdicts["clip_id"]) == ["a"]
    sh = cmp.shapley_shift.set_index("modality")
    assert sh.loc["audio", "mean |shift|"] == pytest.approx(0.25) and sh.loc["audio", "mean shift"] == pytest.approx(0.0)
    assert sh.loc["text", "mean |shift|"] == 0
    assert list(cmp.metrics["Has0_acc_2"]) == [1.0, 0.5]
    with pytest.raises(MmvizError, match="at least two"):
        compare_tables({"A": _table([1.0] * 4, ["text"] * 4, s0)})
    with pytest.raises(MmvizError, match="no clips"):
        compare_tables({"A": _table([1.0] * 4, ["text"] * 4, s0), "B": _table([1.0] * 4, ["text"] * 4, s0).iloc[:0]})
    no_verdicts = compare_tables({"A": _table([1.0] * 4, ["text"] * 4, s0).drop(columns=["model_dominant"]),
                                  "B": _table([1.0] * 4, ["text"] * 4, s0)})
    assert not no_verdicts.has_verdicts and no_verdicts.flips == {"B": 0}
