"""Notes and tags in SQLite, with provenance (who/when, which checkpoint and app version).

One file (default ``$MMVIZ_CACHE/notes.sqlite``), WAL mode so several Streamlit sessions can
read while one writes; each call opens its own short connection, so the object is safe to share
between threads. Text is stored as typed (untrusted): whoever displays it must escape it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import mmviz
from mmviz.errors import MmvizError

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
RETRIES = 8  # a write that finds the database locked is retried with growing waits (about 10 s in all)


class NotesBusyError(MmvizError):
    """Many users wrote notes at the same moment and this one could not get its turn."""

    kind = "notes"


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
    def __init__(self, path: str | Path, timeout: float = 2.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.timeout)

    def _write(self, fn: Callable[[sqlite3.Connection], int]) -> int:
        """Run one write; when another writer holds the lock past the timeout, retry, then say so plainly."""
        for attempt in range(RETRIES):
            try:
                with self._conn() as c:
                    return fn(c)
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))
        raise NotesBusyError("Your note was not saved: many people are writing notes at this moment.",
                             hint="Your text is still in the box; press Save again in a few seconds.")

    def add(self, content_hash: str, clip_id: str, text: str, tags=(), author: str = "", checkpoint_hash: str = "") -> Note:
        tags = clean_tags(tags)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        nid = self._write(lambda c: int(c.execute(
            "INSERT INTO notes (content_hash, clip_id, author, text, tags, checkpoint_hash, mmviz_version, created) VALUES (?,?,?,?,?,?,?,?)",
            (content_hash, clip_id, author[:80], text[:MAX_TEXT], "\n".join(tags), checkpoint_hash, mmviz.__version__, created),
        ).lastrowid))
        return Note(nid, content_hash, clip_id, author[:80], text[:MAX_TEXT], tags, checkpoint_hash, mmviz.__version__, created)

    def for_clip(self, content_hash: str) -> list[Note]:
        return self._query("WHERE content_hash = ? ORDER BY id", (content_hash,))

    def all(self, tag: str | None = None) -> list[Note]:
        notes = self._query("ORDER BY id", ())
        return [n for n in notes if tag in n.tags] if tag else notes

    def tags(self) -> list[str]:
        return sorted({t for n in self.all() for t in n.tags})

    def delete(self, note_id: int) -> None:
        self._write(lambda c: c.execute("DELETE FROM notes WHERE id = ?", (int(note_id),)).rowcount)

    def _query(self, where: str, args: tuple) -> list[Note]:
        with self._conn() as c:
            rows = c.execute(f"SELECT id, content_hash, clip_id, author, text, tags, checkpoint_hash, mmviz_version, created FROM notes {where}", args).fetchall()
        return [Note(r[0], r[1], r[2], r[3], r[4], tuple(t for t in r[5].split("\n") if t), r[6], r[7], r[8]) for r in rows]
