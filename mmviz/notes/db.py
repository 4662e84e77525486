"""Notes and tags in SQLite, with provenance (who/when, which checkpoint and app version).

One file (default ``$MMVIZ_CACHE/notes.sqlite``), WAL mode so several Streamlit sessions can
read while one writes; each call opens its own short connection, so the object is safe to share
between threads. Text is stored as typed (untrusted): whoever displays it must escape it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import mmviz

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    checkpoint_hash TEXT NOT NULL DEFAULT '',
    mmviz_version TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_clip ON notes(content_hash);
"""
MAX_TEXT = 10_000
MAX_TAGS = 20


@dataclass(frozen=True)
class Note:
    id: int
    content_hash: str
    clip_id: str
    author: str
    text: str
    tags: tuple[str, ...]
    checkpoint_hash: str
    mmviz_version: str
    created: str


def clean_tags(tags) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = tags.split(",")
    out = []
    for t in tags:
        t = " ".join(str(t).split())[:40]
        if t and t not in out:
            out.append(t)
    return tuple(out[:MAX_TAGS])


class NotesDB:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, content_hash: str, clip_id: str, text: str, tags=(), author: str = "", checkpoint_hash: str = "") -> Note:
        tags = clean_tags(tags)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._conn() as c:
            cur = c.execute(
                "INSERT INTO notes (content_hash, clip_id, author, text, tags, checkpoint_hash, mmviz_version, created) VALUES (?,?,?,?,?,?,?,?)",
                (content_hash, clip_id, author[:80], text[:MAX_TEXT], "\n".join(tags), checkpoint_hash, mmviz.__version__, created),
            )
            nid = int(cur.lastrowid)
        return Note(nid, content_hash, clip_id, author[:80], text[:MAX_TEXT], tags, checkpoint_hash, mmviz.__version__, created)

    def for_clip(self, content_hash: str) -> list[Note]:
        return self._query("WHERE content_hash = ? ORDER BY id", (content_hash,))

    def all(self, tag: str | None = None) -> list[Note]:
        notes = self._query("ORDER BY id", ())
        return [n for n in notes if tag in n.tags] if tag else notes

    def tags(self) -> list[str]:
        return sorted({t for n in self.all() for t in n.tags})

    def delete(self, note_id: int) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM notes WHERE id = ?", (int(note_id),))

    def _query(self, where: str, args: tuple) -> list[Note]:
        with self._conn() as c:
            rows = c.execute(f"SELECT id, content_hash, clip_id, author, text, tags, checkpoint_hash, mmviz_version, created FROM notes {where}", args).fetchall()
        return [Note(r[0], r[1], r[2], r[3], r[4], tuple(t for t in r[5].split("\n") if t), r[6], r[7], r[8]) for r in rows]
