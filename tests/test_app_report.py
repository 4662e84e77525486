"""HTML reports are self-contained, carry provenance and escape every untrusted string."""

from __future__ import annotations

import dataclasses

from mmviz.testing.tiny import clip_for
from mmviz.app_service.service import AppService
from mmviz.records.features import Word
from mmviz.notes import NotesDB
from mmviz.report import clip_report, dataset_report

EVIL = "<script>alert('x')</script>"


def test_clip_report_escapes_and_has_provenance(tmp_path):
    svc = AppService("tiny", tmp_path)
    f = clip_for(svc.runner, 0)
    f = dataclasses.replace(f, clip_id=EVIL, words=f.words + (Word(EVIL, 2.5, 2.9),))
    res = svc.analyze(f)
    db = NotesDB(tmp_path / "n.sqlite")
    db.add(f.content_hash, EVIL, EVIL, tags=[EVIL], author=EVIL)
    doc = clip_report(res, svc.provenance(), notes=db.for_clip(f.content_hash), seed=7)
    assert EVIL not in doc
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in doc
    assert "checkpoint hash" in doc and "tiny-seed0" in doc and "report date" in doc
    assert doc.count("<script") >= 2  # plotly.js inline + figure scripts, written by us
    assert 'src="https://cdn.plot.ly' not in doc  # self-contained: no script loaded from a CDN


def test_dataset_report(tmp_path):
    from mmviz.app_service.datasets import score_clips

    svc = AppService("tiny", tmp_path)
    ds = score_clips(svc, "six", [clip_for(svc.runner, i) for i in range(6)], labels=[1.0, -1.0] * 3)
    t = ds.table.copy()
    t.loc[0, "clip_id"] = EVIL
    doc = dataset_report(t, {"Has0_acc_2": 0.5}, {"checkpoint hash": ds.checkpoint_hash}, name=EVIL)
    assert EVIL not in doc and "Has0_acc_2" in doc
