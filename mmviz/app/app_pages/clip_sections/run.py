"""Running one analysis in a page: progress the analyst can see, errors that never pose as results.

Why the bar is in an *expanded* status box: an analysis takes from a second to minutes; a
collapsed box shows only a spinner, so the stage ("decoding", "model", "explaining: words") and
the bar stay open while it runs and the box folds to one line when it is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from mmviz.app_service import ui
from mmviz.errors import MmvizError
from mmviz.explain.recording import RecordingAnalysis

PROGRESS_KEY = "analysis-progress"  # test id of the box that holds the stage text and the bar
RECORDING = "recording_result"  # RecordingAnalysis of a long upload; the current clip is one of its utterances

Progress = Callable[[str, float], None]


def with_progress(fn: Callable[[Progress], Any], label: str, *, key: str = PROGRESS_KEY) -> Any:
    """``fn(progress)`` under a visible stage text and bar; returns its result.

    A user-facing error folds the box into an error line and is raised again for the caller
    to place (as the page's error, or inline beside the section that asked).
    """
    with st.container(key=key):
        with st.status(label, expanded=True) as status:
            bar = st.progress(0.0, text="starting…")

            def progress(stage: str, frac: float) -> None:
                bar.progress(min(max(float(frac), 0.0), 1.0), text=str(stage))

            try:
                res = fn(progress)
            except MmvizError:
                status.update(label=f"{label.rstrip('…')}: failed", state="error", expanded=False)
                raise
            status.update(label=f"{label.rstrip('…')}: done", state="complete", expanded=False)
            return res


def run_analysis(fn: Callable[[Progress], Any], label: str, *, name: str | None = None) -> None:
    """Run one analysis and make it the current clip; a user-facing error becomes the page's error.

    name: what is being analysed (e.g. the uploaded file's name), so the error can say which
    clip failed while the earlier result is kept, hidden and named (see ``error_section``).
    """
    try:
        res = with_progress(fn, label)
    except MmvizError as e:
        st.session_state[ui.ERROR] = str(e)
        st.session_state[ui.FAILED] = name
        return
    if isinstance(res, RecordingAnalysis):  # a long upload: show its first utterance under the recording
        st.session_state[RECORDING] = res
        st.session_state.pop(f"utterance-{res.key}", None)  # the picker starts at the first utterance
        ui.set_current(res.utterances[0])
        return
    st.session_state.pop(RECORDING, None)
    ui.set_current(res)


def error_section() -> None:
    """The last analysis error; the earlier clip's views stay hidden until the analyst asks for them.

    Why hidden and not simply left in place: views under an error read as the failed upload's.
    The earlier result is kept (one click brings it back), and the button names its clip.
    """
    if ui.ERROR not in st.session_state:
        return
    earlier = ui.current()
    with st.container(key="clip-error"):
        failed = st.session_state.get(ui.FAILED)
        ui.error(st.session_state[ui.ERROR])
        if earlier is None:
            return
        name = earlier.features.clip_id
        st.caption(f"No result is shown for {ui.plain(failed) if failed else 'the failed request'}. The earlier result "
                   f"({ui.plain(name)}) is kept.")
        if st.button(f"Show the earlier result ({ui.plain(name)})", key="show_earlier"):
            st.session_state.pop(ui.ERROR, None)
            st.session_state.pop(ui.FAILED, None)
            st.rerun()
    st.stop()
