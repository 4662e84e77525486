"""Small Streamlit helpers shared by pages: state keys, the current clip, safe text, charts."""

from __future__ import annotations

import html

import streamlit as st

from mmviz.explain.analysis import ClipAnalysis

#: st.session_state keys (one place, so pages agree)
RESULT = "clip_result"  # ClipAnalysis the user is looking at
ERROR = "clip_error"  # last user-facing error message (str)
FAILED = "clip_failed"  # name of what the last error was about (the earlier result stays, named apart)
WHAT_IF = "what_if"  # (key of the analysis it edits, ClipAnalysis of the edited transcript)
SEEK = "seek"  # player position, seconds
OPEN = "open_request"  # dict set by another page: open this clip in Clip review
CFS = "cf_results"  # (CounterfactualResult, Predictions) of the counterfactuals run on the current clip
CF_LAST = "_cf_last"  # index in CFS of the latest one (laid beside the original)
CF_NOTE = "_cf_note"  # a message about the last click (e.g. "already in the chart")
DATASET = "dataset_view"  # DatasetView open in the Dataset explorer (Error analysis and Reports read it)
METRICS = "dataset_metrics"  # metrics of that dataset (dict)
DATASETS = "_datasets"  # this user's memo of scored datasets
LAST_WORD = "_last_word"  # the word picked in "Jump to word"
PRESENT = "present"  # presentation mode toggle
NOTE_SAVED = "_note_saved"  # the last note was stored: clear the form on this run
COMPETITION = "competition_report"  # the last CompetitionReport shown on Error analysis (the dataset report adds it)

PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "mmviz-figure"}}


def current() -> ClipAnalysis | None:
    return st.session_state.get(RESULT)


def set_current(res: ClipAnalysis) -> None:
    if st.session_state.get(RESULT) is None or st.session_state[RESULT].key != res.key:
        st.session_state[CFS] = []
        st.session_state.pop(CF_LAST, None)
        st.session_state[SEEK] = 0.0
    st.session_state[RESULT] = res
    st.session_state.pop(ERROR, None)
    st.session_state.pop(FAILED, None)


def safe(text) -> str:
    """Escape untrusted text for the rare places that render HTML."""
    return html.escape(str(text), quote=True)


def plain(text) -> str:
    """Untrusted text for markdown elements: HTML escaped and markdown specials neutralised."""
    s = html.escape(str(text), quote=False)
    for ch in "\\`*_{}[]()#+!|~>$":
        s = s.replace(ch, "\\" + ch)
    return s


def error(message) -> None:
    """A user-facing error: its text may hold file names and typed text, so it is shown as text, never markdown."""
    st.error(plain(message))


def chart(fig, key: str | None = None, **kw):
    return st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key, **kw)
