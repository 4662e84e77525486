"""Robustness curves (mmviz.data.robustness) and their chart, on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from mmviz.data.dataset import LabelledClip
from mmviz.data.metrics import mmsa_metrics
from mmviz.data.robustness import RobustnessCurves, add_noise, cached_robustness_curves, model_std, robustness_curves
from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError
from mmviz.features.ablate import remove
from mmviz.figures.robustness import robustness_chart
from mmviz.records.serialize import load_record, save_record
from mmviz.testing.tiny import clip_for, tiny_runner


@pytest.fixture(scope="module")
def runner():
    return tiny_runner()


@pytest.fixture(scope="module")
def clips(runner):
    rng = np.random.default_rng(3)
    return [LabelledClip(clip_for(runner, i, text="the film was good and fun" if i % 2 else "a dull and bad film"),
                         float(rng.uniform(-3, 3)), "test", {}) for i in range(10)]


def _fused(runner, feats):
    return np.array([i.predictions.fused for i in runner.inspect(feats)])


def test_curves_match_the_explainers_removal_and_the_clean_scores(runner, clips):
    rec = robustness_curves(runner, clips, levels=(0.5, 2.0), batch_size=3)
    labels = [c.label for c in clips]
    assert rec.levels == (0.0, 0.5, 2.0) and rec.noise.shape == (3, 3, 3) and rec.removed.shape == (3, 3)
    clean = mmsa_metrics(_fused(runner, [c.features for c in clips]), labels)
    assert rec.clean("MAE") == pytest.approx(clean["MAE"], abs=1e-5)
    assert rec.clean("Has0_acc_2") == pytest.approx(clean["Has0_acc_2"])
    for m in ("text", "audio", "visual"):
        want = mmsa_metrics(_fused(runner, [remove(c.features, m) for c in clips]), labels)
        assert rec.removed_score(m, "MAE") == pytest.approx(want["MAE"], abs=1e-5)
        assert rec.noise_score(m, 0, "MAE") == pytest.approx(clean["MAE"], abs=1e-5)
    # noise changes the prediction; all words dropped is the explainers' empty transcript
    assert rec.noise_score("audio", -1, "MAE") != rec.clean("MAE")
    assert rec.noise_score("text", -1, "MAE") == pytest.approx(rec.removed_score("text", "MAE"), abs=1e-6)


def test_curves_are_seeded_and_independent_of_batch_size(runner, clips):
    a = robustness_curves(runner, clips, levels=(1.0,), batch_size=4, seed=5)
    b = robustness_curves(runner, clips, levels=(1.0,), batch_size=10, seed=5)
    c = robustness_curves(runner, clips, levels=(1.0,), batch_size=4, seed=6)
    np.testing.assert_allclose(a.noise, b.noise, atol=1e-5)
    assert not np.allclose(a.noise, c.noise)


def test_noise_is_in_normalised_units_and_text_noise_drops_words(runner, clips):
    f = clips[0].features
    cfg = runner.cfg.replace(audio_std=tuple(3.0 + i for i in range(len(runner.cfg.audio_features))))
    names, std = model_std(cfg, "audio")
    noisy = add_noise(f, "audio", 2.0, names, std, np.random.default_rng(0))
    for j, name in enumerate(names):
        k = f.audio.names.index(name)
        assert np.std(noisy.audio.values[:, k] - f.audio.values[:, k]) == pytest.approx(2.0 * std[j], rel=0.4)
    assert model_std(runner.cfg, "visual")[1] == (1.0,) * len(runner.cfg.visual_features)  # none stored: the model's 1
    half = add_noise(f, "text", 0.5, (), (), np.random.default_rng(0))
    assert 0 < len(half.words) < len(f.words) or len(f.words) < 3
    assert add_noise(f, "text", 2.0, (), (), np.random.default_rng(0)).words == ()
    assert add_noise(f, "visual", 0.0, *model_std(cfg, "visual"), np.random.default_rng(0)) is f


def test_record_round_trips_and_is_cached(runner, clips, tmp_path):
    store = ResultsStore(tmp_path / "store")
    stages = []
    rec = cached_robustness_curves(store, runner, clips, (1.0,), name="tiny deep", progress=lambda s, f: stages.append(f))
    assert stages[-1] == pytest.approx(1.0) and len(stages) == 7  # clean + 3 removed + 3 noisy
    again = []
    rec2 = cached_robustness_curves(store, runner, clips, (1.0,), name="renamed", progress=lambda s, f: again.append(s))
    assert again == ["read from the results store"] and rec2.name == "renamed"
    np.testing.assert_array_equal(rec.noise, rec2.noise)
    p = save_record(rec, tmp_path / "r.json")
    back = load_record(p)
    assert isinstance(back, RobustnessCurves) and back.levels == rec.levels
    np.testing.assert_array_equal(back.removed, rec.removed)


def test_bad_inputs_are_user_facing(runner, clips):
    with pytest.raises(MmvizError, match="at least 2"):
        robustness_curves(runner, clips[:1])
    with pytest.raises(MmvizError, match="levels"):
        robustness_curves(runner, clips, levels=(-1.0,))
    with pytest.raises(MmvizError, match="baseline"):
        robustness_curves(runner, clips, baseline="nope")


def test_chart_has_a_line_per_checkpoint_and_modality_in_both_panels(runner, clips):
    a = robustness_curves(runner, clips, levels=(1.0,), name="deep")
    b = robustness_curves(tiny_runner(seed=1), clips, levels=(1.0,), name="other")
    fig = robustness_chart([a, b])
    assert len(fig.data) == 2 * 3 * 2
    names = {t.name for t in fig.data if t.showlegend}
    assert names == {f"{n} · {m}" for n in ("deep", "other") for m in ("text", "audio", "visual")}
    assert list(fig.data[0].x) == ["σ=0", "σ=1", "removed"]
    assert {t.line.dash for t in fig.data} == {"solid", "dash", "dot"}
    assert len({t.line.color for t in fig.data}) == 2
    with pytest.raises(MmvizError):
        robustness_chart([])
