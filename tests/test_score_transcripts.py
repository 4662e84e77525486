"""`mmviz score sentences.csv`: human-labelled text scored like clips, audio and video absent."""

from __future__ import annotations

import pandas as pd

from mmviz.cli import main
from mmviz.data.transcripts import text_features


def _csv(tmp_path, rows, name="dev.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_a_transcript_becomes_text_only_features():
    f = text_features("s1", "a truly wonderful film")
    assert f.audio is None and f.visual is None and f.transcript == "a truly wonderful film"
    assert f.content_hash != text_features("s2", "a dull film").content_hash
    assert text_features("other id", "a truly wonderful film").content_hash == f.content_hash  # keyed by the text


def test_scoring_a_csv_writes_the_clip_table_and_prints_both_heads(tmp_path, capsys):
    rows = [{"id": f"s{i}", "text": t, "label": lab, "mode": "dev"} for i, (t, lab) in
            enumerate([("a truly wonderful film", 2.4), ("dull and far too long", -1.8), ("it was fine i guess", 0.2),
                       ("the worst thing i have seen", -2.8)])]
    out = tmp_path / "table.csv"
    assert main(["score", str(_csv(tmp_path, rows)), "--checkpoint", "tiny", "--store", str(tmp_path / "store"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "scored 4 transcripts" in printed and "fused head: " in printed and "text head: " in printed
    t = pd.read_csv(out)
    assert list(t["clip_id"]) == ["s0", "s1", "s2", "s3"] and t["label"].tolist() == [2.4, -1.8, 0.2, -2.8]
    assert {"pred_fused", "pred_text", "pred_audio", "pred_visual", "mode"} <= set(t.columns)
    # again: every inspection comes from the store
    assert main(["score", str(_csv(tmp_path, rows)), "--checkpoint", "tiny", "--store", str(tmp_path / "store")]) == 0


def test_a_csv_without_text_is_one_clear_message(tmp_path, capsys):
    p = _csv(tmp_path, [{"id": "a", "sentence": "hello", "label": 1}], "bad.csv")
    assert main(["score", str(p), "--checkpoint", "tiny", "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "no column 'text'" in err and "Traceback" not in err
    p = _csv(tmp_path, [{"id": "a", "text": "hello", "label": "very good"}], "bad2.csv")
    assert main(["score", str(p), "--checkpoint", "tiny", "--store", str(tmp_path / "s")]) == 2
    assert "is not a number" in capsys.readouterr().err
