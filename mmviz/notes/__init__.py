"""Notes and tags per clip, shared by every user of one server and kept across restarts."""

from mmviz.notes.db import Note, NotesDB

__all__ = ["Note", "NotesDB"]
