"""bench/strategies.py end to end on the tiny backbone: every strategy row, a UME row, R@1/R@5 columns.

Slow (a 32-clip corpus is rendered with espeak-ng and nine tiny models are trained): ~3 min on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _bench():
    spec = importlib.util.spec_from_file_location("bench_strategies", REPO / "bench" / "strategies.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_table_has_every_strategy_alignment_and_robustness(tmp_path, capsys):
    bench = _bench()
    out = tmp_path / "table.md"
    rc = bench.main(["--work", str(tmp_path / "work"), "--size", "tiny", "--backbone", bench.TINY_BACKBONE,
                     "--shared-dir", str(tmp_path / "no-shared"), "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert text.strip() == capsys.readouterr().out.strip()  # printed and written alike
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert {"a→v R@1", "a→v R@5", "t→a R@1", "t→a R@5", "Acc-2 −audio", "Acc-2 visual σ=2", "train s"} <= set(header)
    rows = {ln.strip("|").split("|")[0].strip(): [c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]}
    assert list(rows) == [r[0] for r in bench.RUNS]
    assert "ume" in rows and "umt (from ume)" in rows
    for name, cells in rows.items():
        assert len(cells) == len(header), name
        row = dict(zip(header, cells))
        for col in ("Acc-2", "MAE", "a→v R@1", "a→v R@5", "t→a R@5", "Acc-2 −text"):
            assert 0.0 <= float(row[col]) <= 3.0, (name, col, row[col])  # measured, not a dash
        assert row["MOSI dev Acc-2 (fused)"] == "—"  # no shared folder: said so, not invented
    assert "not measured" in text
    cards = sorted((tmp_path / "work" / "runs").glob("*/*/MODEL_CARD.md"))
    assert len(cards) == len(bench.RUNS) and all(text in c.read_text() for c in cards)


def test_unknown_rows_are_refused(tmp_path, capsys):
    assert _bench().main(["--work", str(tmp_path), "--only", "deep,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_a_reference_checkpoint_is_scored_on_the_same_clips_without_training(tmp_path, capsys):
    bench = _bench()
    work = tmp_path / "work"
    late = work / "runs" / "tiny-tiny" / "late"  # trained by this same command, before the references are scored
    rc = bench.main(["--work", str(work), "--size", "tiny", "--backbone", bench.TINY_BACKBONE, "--only", "late",
                     "--epochs", "3", "--max-steps", "4", "--patience", "50",
                     "--shared-dir", str(tmp_path / "no-shared"), "--reference", str(late),
                     "--reference", str(tmp_path / "nothing-here")])
    assert rc == 0
    captured = capsys.readouterr()
    rows = [ln.strip("|").split("|") for ln in captured.out.splitlines() if ln.startswith("| late")]
    assert len(rows) == 2 and "(reference, not trained here)" in rows[1][0]
    trained, ref = [[c.strip() for c in r] for r in rows]
    assert trained[1:-1] == ref[1:-1]  # the same checkpoint on the same clips: the same numbers
    assert trained[-1] != "—" and ref[-1] == "—"  # no training time for a reference
    assert "nothing-here: no checkpoint there" in captured.err
    summary = json.loads((late / "train_summary.json").read_text())
    assert summary["epochs_run"] <= 3 and summary["steps"] == 4  # --epochs lifts the size's 1 epoch; --max-steps bounds it
