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
    rep = _refit_done(tmp_path, Recipe())
    assert rep is not None and rep["text_head_layer"] == 15 and "branch_heads" in rep and "seconds" not in rep


def test_a_training_save_after_the_refit_means_refit_again(tmp_path):
    _write(tmp_path, {"text_head_layer": None})  # what every training save writes
    assert _refit_done(tmp_path, Recipe()) is None


def test_a_refit_without_the_branch_heads_the_recipe_asks_for_is_redone(tmp_path):
    _write(tmp_path, {"text_head_layer": 15})  # written before branch_view existed: mixed
    assert _refit_done(tmp_path, Recipe()) is None
    assert _refit_done(tmp_path, Recipe(refit_branch_heads=False)) is not None
