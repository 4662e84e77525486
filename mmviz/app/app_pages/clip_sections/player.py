"""The clip's player, seeking to the exact time the analyst picked (sub-second).

Why not ``st.video(start_time=...)``: Streamlit (1.67) turns ``start_time`` into an int before it
reaches the browser (``_parse_start_time_end_time`` and the int field of the Video message), so
a word at 1.37 s played from 1 s. The player here is a plain ``<video>`` element whose source is
the file Streamlit serves for us, with a W3C media fragment ``#t=start[,end]``: the browser
itself seeks to ``start`` (any fraction of a second) and stops at ``end``, with no script.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import streamlit as st

from mmviz.app_service import ui

PLAYER_CLASS = "mmviz-player"


def media_url(path: str | Path) -> str | None:
    """The URL under which this server serves the media file at ``path`` to the current session.

    Our adapter over Streamlit's media file manager (the call ``st.video`` itself makes for a
    local file): the file is registered for this session and element, and released with the
    session's other media when the page no longer shows it. None without a Streamlit runtime.
    """
    from streamlit import runtime

    if not runtime.exists():
        return None
    mime = mimetypes.guess_type(str(path))[0] or "video/mp4"
    if not mime.startswith(("video/", "audio/")):
        mime = "video/mp4"
    return runtime.get_instance().media_file_mgr.add(str(path), mime, f"mmviz-player:{path}")


def fragment(start: float, end: float | None = None) -> str:
    """The media fragment ``#t=start[,end]`` (seconds, millisecond precision)."""
    start = max(float(start), 0.0)
    return f"#t={start:.3f}" + (f",{float(end):.3f}" if end is not None and end > start else "")


def player(path: str, start: float, end: float | None = None) -> None:
    """A video player for ``path`` that opens at ``start`` seconds (and stops at ``end``)."""
    url = media_url(path)
    if url is None:  # no runtime (bare script): Streamlit's own player, whole seconds
        st.video(path, start_time=int(start), end_time=int(end + 0.999) if end is not None else None)
        return
    src = ui.safe(url + fragment(start, end))
    st.html(f'<video class="{PLAYER_CLASS}" controls preload="auto" playsinline src="{src}" '
            f'data-start="{start:.3f}" style="width: 100%; max-height: 420px; border-radius: 0.5rem; background: #000"></video>')
