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


def test_a_write_that_finds_the_database_locked_is_retried_then_reported(tmp_path, monkeypatch):
    import sqlite3

    import mmviz.notes.db as notes_db
    from mmviz.notes import NotesDB

    monkeypatch.setattr(notes_db.time, "sleep", lambda s: None)
    db = NotesDB(tmp_path / "n.sqlite", timeout=0.05)
    blocker = sqlite3.connect(tmp_path / "n.sqlite")
    blocker.execute("BEGIN EXCLUSIVE")  # another user's long write
    try:
        with __import__("pytest").raises(notes_db.NotesBusyError, match="not saved"):
            db.add("h", "clip", "my careful note")
    finally:
        blocker.rollback()
        blocker.close()
    assert db.add("h", "clip", "my careful note").text == "my careful note"  # once free, the same write goes through

    calls = []
    real = NotesDB._conn

    def flaky(self):  # locked twice, then free: the user never notices
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")
        return real(self)

    monkeypatch.setattr(NotesDB, "_conn", flaky)
    assert db.add("h", "clip", "second").text == "second" and len(calls) == 3
