"""Word attributions that add up: Shapley over words (exact and sampled), and integrated gradients' completeness.

Known answers: the "word" toy of ``test_explain_shapley`` (one token decides, linearly) and a
saturating toy where one word decides the score; hand-made games for the estimators.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmviz.errors import MmvizError
from mmviz.explain import ClipContext, ExplainSettings, get_explainer
from mmviz.explain.record import WordAttributions
from mmviz.explain.word_shapley import (all_coalitions, antithetic_orders, chosen_estimator, ends_shapley, exact_shapley,
                                        owners,
                                        permutation_shapley,
                                        use_exact)
from mmviz.records.serialize import load_record, records_equal, save_record
from mmviz.testing.tiny import synthetic_clip
from test_explain_shapley import TARGET_WEIGHT, ToyFusion, toy_runner, word_token

WORDS, SH = get_explainer("word_attribution"), get_explainer("shapley")
LONG = "this movie was really good but the ending was a bit slow and boring overall"  # 15 words: sampled


# ---------------------------------------------------------------- the estimators on hand-made games
def _game(n: int, seed: int = 0):
    """A non-additive game with known exact Shapley values (pairwise products + main effects)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=(n, n))

    def v(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, float).reshape(-1, n)
        return c @ a + np.einsum("ci,ij,cj->c", c, np.triu(b, 1), c)

    return v, a + (np.triu(b, 1).sum(1) + np.triu(b, 1).sum(0)) / 2  # each pair's product split equally


def test_exact_shapley_on_a_hand_game():
    v, phi = _game(6)
    got = exact_shapley(v(all_coalitions(6)), 6)
    np.testing.assert_allclose(got, phi, atol=1e-12)
    assert got.sum() == pytest.approx(v(np.ones(6))[0] - v(np.zeros(6))[0], abs=1e-12)


def test_sampled_shapley_adds_up_exactly_and_lies_within_its_error():
    a = np.random.default_rng(1).normal(size=12)

    def v(c):  # saturating: interactions of every order (a pairwise game would be exact under antithetic pairs)
        return 3 * np.tanh(np.asarray(c, float).reshape(-1, 12) @ a / 2 - 0.5)

    phi = exact_shapley(v(all_coalitions(12)), 12)
    orders = antithetic_orders(12, 64, seed=3)
    got, se, full, none, coalitions = permutation_shapley(v, 12, orders)
    assert got.sum() == pytest.approx(full - none, abs=1e-12)  # telescoping: exact whatever the sample
    assert len(orders) == 64 and (orders[0] == orders[1][::-1]).all()
    z = np.abs(got - phi) / se
    assert np.all(se > 0) and np.mean(z < 2) >= 0.8 and z.max() < 4.5  # the reported errors are honest
    again = permutation_shapley(v, 12, antithetic_orders(12, 64, seed=3))[0]
    np.testing.assert_array_equal(got, again)  # a fixed seed gives the same scores


def test_exact_is_used_for_short_transcripts_only():
    s = ExplainSettings()
    assert use_exact(5, s) and use_exact(6, s) and not use_exact(7, s) and not use_exact(21, s)
    p = s.replace(word_estimator="permutations")
    assert use_exact(10, p.replace(word_samples=128)) and not use_exact(11, p.replace(word_samples=4096))


def test_auto_estimator_enumerates_short_samples_middle_and_uses_first_and_last_for_long_transcripts():
    s = ExplainSettings()
    assert s.word_estimator == "auto"
    got = {n: chosen_estimator(n, s) for n in (5, 6, 7, 8, 11, 12, 21)}
    assert got[5] == got[6] == ("exact", 0)
    assert got[7] == ("permutations", 10) and got[8] == ("permutations", 8) and got[11] == ("permutations", 6)
    assert got[12] == got[21] == ("ends", 0)
    for n, (est, k) in got.items():  # every choice stays within the pass budget
        cost = {"exact": 2**n, "ends": 2 * n + 2, "permutations": k * (n - 1) + 2}[est]
        assert cost <= 64
    assert chosen_estimator(21, s.replace(word_estimator="permutations")) == ("permutations", 6)


def test_first_and_last_is_exact_when_words_interact_at_most_in_pairs():
    n = 9
    rng = np.random.default_rng(4)
    single, pair = rng.normal(size=n), np.triu(rng.normal(size=(n, n)), 1)

    def v(c):  # additive effects plus every pairwise interaction
        c = np.asarray(c, float)
        return c @ single + np.einsum("bi,ij,bj->b", c, pair, c)

    exact = exact_shapley(v(all_coalitions(n)), n)
    got, remainder, full, none, coalitions = ends_shapley(v, n)
    np.testing.assert_allclose(got, exact, atol=1e-12)
    assert abs(remainder) < 1e-12 and coalitions == 2 * n + 2


def test_first_and_last_shares_a_three_word_interaction_and_still_adds_up():
    def v(c):  # words 0, 1 and 2 only count together (+3); word 5 alone adds 1
        c = np.asarray(c, bool)
        return 3.0 * (c[:, 0] & c[:, 1] & c[:, 2]) + 1.0 * c[:, 5]

    got, remainder, full, none, _ = ends_shapley(v, 7)
    assert got.sum() == pytest.approx(full - none, abs=1e-12)
    assert remainder == pytest.approx(-1.5)  # first/last gives each of the three 1.5; together 4.5 > 3
    assert got[5] == pytest.approx(1.0 - 1.5 / 7) and got[0] == got[1] == got[2] > got[5]


def test_tokens_of_no_word_belong_to_the_next_word():
    np.testing.assert_array_equal(owners(np.array([-1, 0, 0, -1, 1, -1])), [0, 0, 0, 1, 1, 1])


# ---------------------------------------------------------------- on the tiny model
def test_exact_word_shapley_sums_to_all_minus_no_words(tiny_runner):
    clip = synthetic_clip(0)  # "this movie was really good": 5 words, exact
    ctx = ClipContext.build(tiny_runner, clip)
    rec = WORDS.explain(tiny_runner, clip, context=ctx)
    assert rec.method == "shapley" and rec.estimator == "exact" and rec.coalitions == 32 and rec.baseline == "drop"
    assert rec.scores.sum() == pytest.approx(rec.prediction - rec.baseline_prediction, abs=1e-12)
    assert abs(rec.delta) < 1e-12 and rec.completeness < 1e-9 and np.all(rec.standard_error == 0)
    # f(all words) is the clip's prediction; f(no words) is the modality Shapley coalition without text
    sh = SH.explain(tiny_runner, clip, context=ctx)
    assert rec.prediction == pytest.approx(sh.full, abs=1e-5)
    assert rec.baseline_prediction == pytest.approx(sh.subset_values["audio+visual"], abs=1e-5)
    assert "add up" in rec.describe()


def test_sampled_word_shapley_within_its_reported_error(tiny_runner):
    clip = synthetic_clip(1, text=LONG)
    few = WORDS.explain(tiny_runner, clip, ExplainSettings(word_estimator="permutations", word_samples=16))
    many = WORDS.explain(tiny_runner, clip, ExplainSettings(word_estimator="permutations", word_samples=128))
    assert few.estimator == "permutations" and few.samples == 16 and few.standard_error.shape == (15,)
    for rec in (few, many):
        assert rec.scores.sum() == pytest.approx(rec.prediction - rec.baseline_prediction, abs=1e-9)
    err = np.sqrt(few.standard_error**2 + many.standard_error**2)
    z = np.abs(few.scores - many.scores) / err
    assert np.mean(z < 2) >= 0.8 and z.max() < 4.5
    assert few.prediction == pytest.approx(many.prediction, abs=1e-5)


def test_pad_baseline_removes_words_by_pad_tokens(tiny_runner):
    clip = synthetic_clip(0)
    drop = WORDS.explain(tiny_runner, clip)
    pad = WORDS.explain(tiny_runner, clip, ExplainSettings(word_baseline="pad"))
    ig = WORDS.explain(tiny_runner, clip, ExplainSettings(word_method="integrated_gradients"))
    assert pad.baseline == "pad" and pad.scores.sum() == pytest.approx(pad.prediction - pad.baseline_prediction, abs=1e-12)
    assert pad.baseline_prediction == pytest.approx(ig.baseline_prediction, abs=1e-5)  # the same point as IG's
    assert abs(pad.baseline_prediction - drop.baseline_prediction) > 1e-6


def test_integrated_gradients_default_steps_are_complete_on_the_tiny_model(tiny_runner):
    rec = WORDS.explain(tiny_runner, synthetic_clip(0), ExplainSettings(word_method="integrated_gradients"))
    assert rec.method == "integrated_gradients" and rec.steps == ExplainSettings().word_steps
    assert rec.completeness <= 0.05 and rec.estimator == "gausslegendre"
    assert rec.scores.sum() == pytest.approx(rec.token_scores.sum(), abs=1e-9)
    assert "completeness gap" in rec.describe()


def test_bad_word_settings_are_user_errors(tiny_runner):
    for bad in (dict(word_method="occlusion"), dict(word_baseline="unk"), dict(word_samples=1),
                dict(word_estimator="guess")):
        with pytest.raises(MmvizError):
            WORDS.explain(tiny_runner, synthetic_clip(0), ExplainSettings(**bad))


def test_long_transcripts_default_to_first_and_last_and_still_add_up(tiny_runner):
    rec = WORDS.explain(tiny_runner, synthetic_clip(1, text=LONG))
    assert rec.estimator == "ends" and rec.coalitions <= 2 * 15 + 2 and rec.samples == 0
    assert rec.scores.sum() == pytest.approx(rec.prediction - rec.baseline_prediction, abs=1e-9)
    assert np.all(rec.standard_error == 0) and "added first and added last" in rec.describe()


def test_record_round_trip_and_old_records_still_load(tiny_runner, tmp_path):
    rec = WORDS.explain(tiny_runner, synthetic_clip(1, text=LONG))
    save_record(rec, tmp_path / "w")
    assert records_equal(load_record(tmp_path / "w"), rec)
    old = {f.name: getattr(rec, f.name) for f in dataclasses.fields(WordAttributions) if f.default is dataclasses.MISSING
           and f.default_factory is dataclasses.MISSING}
    legacy = WordAttributions(**{**old, "method": "gausslegendre"})  # a record written before the choice existed
    assert legacy.method_name == "integrated_gradients" and legacy.standard_error.shape == (0,)
    assert "integrated gradients" in legacy.describe()


# ---------------------------------------------------------------- known answers
def test_the_one_word_that_matters_gets_everything():
    runner = toy_runner("audio_window")
    runner = toy_runner("word", target_token=word_token(runner, "good"))
    rec = WORDS.explain(runner, synthetic_clip(3, text="this movie was really good"))
    np.testing.assert_allclose(rec.scores, [0, 0, 0, 0, TARGET_WEIGHT], atol=1e-5)
    long = WORDS.explain(runner, synthetic_clip(3, text=LONG))  # sampled: a null word gets exactly 0 in every order
    assert long.words[int(np.argmax(np.abs(long.scores)))] == "good"
    assert long.scores[long.words.index("good")] == pytest.approx(TARGET_WEIGHT, abs=1e-5)


class SaturatingToy(ToyFusion):
    """3 * tanh(the "word" toy's sum - 1): one word decides, and the score saturates."""

    def forward(self, x, *, collect=False, text_embeds=None, prefix=None):
        out = super().forward(x, collect=collect, text_embeds=text_embeds, prefix=prefix)
        return dataclasses.replace(out, pred_fused=3 * torch.tanh(out.pred_fused - 1.0))


def test_a_saturating_scorer_where_one_word_decides_ranks_it_top():
    from mmviz.inference.runner import ModelRunner

    base = toy_runner("audio_window")
    word = toy_runner("word", target_token=word_token(base, "excellent"))
    model = word.model
    model.__class__ = SaturatingToy
    runner = ModelRunner(model, word.tokenizer, "toy-saturating", "tiny", torch.device("cpu"))
    for text in ("so the movie was excellent", "so the movie was excellent and the popcorn was cold and stale too"):
        rec = WORDS.explain(runner, synthetic_clip(2, text=text))
        assert rec.words[int(np.argmax(np.abs(rec.scores)))] == "excellent"
        assert rec.scores.sum() == pytest.approx(rec.prediction - rec.baseline_prediction, abs=1e-9)
        others = np.delete(rec.scores, rec.words.index("excellent"))
        assert np.abs(others).max() < 1e-5


@pytest.mark.slow
def test_shipped_model_credits_the_planted_word(repo_root):
    """demo002 "so the movie was excellent": 16-step IG gave "the" +2.09 and "excellent" +0.17; Shapley adds up and ranks "excellent" top."""
    from mmviz.features.extract import extract_features
    from mmviz.inference.runner import ModelRunner

    runner = ModelRunner.from_checkpoint()
    clips = repo_root / "mmviz" / "demo" / "clips"
    feats = extract_features(clips / "demo002.mp4", sidecar=clips / "demo002.txt")
    rec = WORDS.explain(runner, feats)
    assert rec.estimator == "exact" and rec.words[int(np.argmax(np.abs(rec.scores)))] == "excellent"
    assert rec.scores[rec.words.index("excellent")] > 0
    assert rec.scores.sum() == pytest.approx(rec.prediction - rec.baseline_prediction, abs=1e-9)
