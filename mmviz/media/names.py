"""Clip filenames from users: keep only the last path component.

Why: an uploaded file's name ends up in records, reports and cache keys; a name like
``../../etc/passwd`` must never steer where anything is written. Policy: names with directory
parts are *stripped* to their last component (and a warning is recorded in MediaInfo);
with ``strict=True`` they are *rejected* with :class:`UnsafeFilenameError`.
"""

from __future__ import annotations

import re

from mmviz.media.errors import UnsafeFilenameError

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def has_path_parts(name: str) -> bool:
    """True when ``name`` contains a directory separator or is a relative/absolute path."""
    return "/" in name or "\\" in name or name in (".", "..")


def safe_filename(name: str, *, strict: bool = False) -> tuple[str, str | None]:
    """Return (display name without directories, warning or None).

    strict: raise :class:`UnsafeFilenameError` instead of stripping.
    """
    raw = str(name)
    clean = _BAD_CHARS.sub("", raw)
    base = re.split(r"[\\/]", clean)[-1].strip()
    if base in (".", ".."):
        base = ""
    if has_path_parts(raw) or clean != raw:
        if strict:
            raise UnsafeFilenameError(
                f"The filename {raw!r} contains directory parts or control characters; only a plain file name is accepted.",
                hint=f"Rename it to a plain name such as {base or 'clip.mp4'!r}.",
            )
        return (base or "clip"), f"Filename {raw!r} had directory parts; stripped to {base or 'clip'!r}."
    return (base or "clip"), None
