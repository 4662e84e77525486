"""Notes and tags persist in SQLite across restarts and are shared by every session."""

from __future__ import annotations

from mmviz.notes import NotesDB
from mmviz.notes.db import clean_tags


def test_notes_survive_restart(tmp_path):
    p = tmp_path / "notes.sqlite"
    a = NotesDB(p)
    n = a.add("h1", "clip one", "smiles but says 'awful'", tags="conflict, face ,conflict", author="ana", checkpoint_hash="ck")
    assert n.tags == ("conflict", "face")
    b = NotesDB(p)  # another server process / after a restart
    got = b.for_clip("h1")
    assert [x.text for x in got] == ["smiles but says 'awful'"]
    assert got[0].checkpoint_hash == "ck" and got[0].mmviz_version and got[0].created
    assert b.tags() == ["conflict", "face"] and len(b.all("face")) == 1 and b.all("nope") == []
    b.delete(n.id)
    assert a.for_clip("h1") == []


def test_tags_are_cleaned():
    assert clean_tags(["  a  b ", "", "a b", "x" * 100]) == ("a b", "x" * 40)
