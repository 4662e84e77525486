"""What-if transcript editor (LIT's datapoint editor): edit the words, re-run, compare side by side.

The edited clip keeps this clip's audio and video (``mmviz.features.transcript_edit``) and goes
through the service like any clip, so its inspection and explanation are cached in the store
under their own key; the original and the edit are laid out column by column: prediction, heads,
word attributions.
"""

from __future__ import annotations

import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.figures import clip as cf
from mmviz.records.sentiment import sentiment_class

from .run import with_progress

HEADS = (("fused", "Fused"), ("text", "Text head"), ("audio", "Audio head"), ("visual", "Visual head"))


def _column(res: ClipAnalysis, title: str, base: ClipAnalysis | None) -> None:
    p = res.inspection.predictions
    st.markdown(f"**{title}**")
    m = st.columns(4)
    for col, (h, name) in zip(m, HEADS):
        v = getattr(p, h)
        d = None if base is None else v - getattr(base.inspection.predictions, h)
        same = d is not None and abs(d) < 0.005
        col.metric(name, f"{v:+.2f}", None if d is None else ("no change" if same else f"{d:+.2f}"),
                   delta_color="off" if d is None or same else "normal", delta_arrow="off" if same else "auto")
    st.caption(f"{sentiment_class(p.fused)} · {len(res.features.words)} words")
    wa = res.explanation.word_attributions
    st.markdown(cf.word_attribution_html(wa.words if wa else (), wa.scores if wa else (), wa.standard_error if wa else None),
                unsafe_allow_html=True)  # escaped in the builder


def what_if_section(svc: AppService, res: ClipAnalysis) -> None:
    with st.container(key="what-if", border=True):
        st.subheader("What if the words were different?", anchor=False)
        st.caption("Edit the transcript and re-run: the audio and video stay this clip's. A word replaced one for one keeps "
                   "its time; adding or removing words spreads them over the speech again (estimated times).")
        text = st.text_area("Transcript to try", value=res.features.transcript, key=f"wi_text-{res.key}", height=80)
        same = text.split() == res.features.transcript.split()
        if st.button("Re-run with this transcript", key="wi_run", disabled=same, type="primary"):
            try:
                edited = with_progress(lambda progress: svc.what_if_transcript(res.features, text, progress=progress),
                                       "Analysing the edited transcript…", key="what-if-progress")
                st.session_state[ui.WHAT_IF] = (res.key, edited)
            except MmvizError as e:
                ui.error(e)
        stored = st.session_state.get(ui.WHAT_IF)
        if not stored or stored[0] != res.key:
            return
        edited = stored[1]
        with st.container(key="what-if-compare"):
            left, right = st.columns(2)
            with left:
                _column(res, "Original transcript", None)
            with right:
                _column(edited, "Edited transcript", res)
