"""A resumed `mmviz build-default` reuses a refit that already sits on top of the last epoch."""

from __future__ import annotations

import json

from mmviz.training.default_recipe import Recipe, _refit_done


def _write(tmp_path, config: dict) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "refit.json").write_text(json.dumps({"text_head_layer": 15, "text_sources": {"mosi": 3},
                                                     "distance": {}, "branch_heads": {"audio": {"valid_mae": 0.8}},
                                                     "mosi_dev": None, "seconds": 9}))


def test_a_refit_written_after_the_last_epoch_is_reused(tmp_path):
    _write(tmp_path, {"text_head_layer": 15, "branch_view": "separate"})
    rep = _refit_done(tmp_path, Recipe(refit_branch_heads=True))
    assert rep is not None and rep["text_head_layer"] == 15 and "branch_heads" in rep and "seconds" not in rep


def test_a_training_save_after_the_refit_means_refit_again(tmp_path):
    _write(tmp_path, {"text_head_layer": None})  # what every training save writes
    assert _refit_done(tmp_path, Recipe(refit_branch_heads=True)) is None


def test_a_refit_without_the_branch_heads_the_recipe_asks_for_is_redone(tmp_path):
    _write(tmp_path, {"text_head_layer": 15})  # written before branch_view existed: mixed
    assert _refit_done(tmp_path, Recipe(refit_branch_heads=True)) is None
    assert _refit_done(tmp_path, Recipe(refit_branch_heads=False)) is not None


def test_a_resume_that_trains_nothing_keeps_the_previous_training_record(tmp_path):
    """...and one that trains on counts the earlier runs' time too (12 epochs, then --resume --epochs 20:
    the card's minutes are both runs', not only the last 8 epochs')."""
    from mmviz.training.default_recipe import _train_summary

    (tmp_path / "evaluation.json").write_text(json.dumps({"train_summary": {
        "best_valid_mae": 1.15, "epochs_run": 20, "steps": 2580, "seconds": 1549.0}}))
    now = {"best_valid_mae": 1.15, "epochs_run": 20, "steps": 2580, "seconds": 3.0, "history": []}
    assert _train_summary(tmp_path, now, resume=True)["seconds"] == 1549.0
    assert _train_summary(tmp_path, now | {"steps": 2709, "seconds": 900.0}, resume=True)["seconds"] == 2449.0
    assert _train_summary(tmp_path, now, resume=False)["seconds"] == 3.0
