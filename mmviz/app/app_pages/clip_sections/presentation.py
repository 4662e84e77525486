"""Presentation mode: one clip, large and readable on a projector; no sidebar, nothing cut off.

Why each section is full width: at presentation sizes the transcript track of the timeline and
the titles of the contribution panels did not fit a two-thirds column (words ran together,
titles were clipped). The sidebar is hidden with static CSS (no user text in it).
"""

from __future__ import annotations

import streamlit as st

from mmviz.app_service import ui
from mmviz.explain.analysis import ClipAnalysis
from mmviz.figures import clip as cf
from mmviz.records.sentiment import sentiment_class

from .player import player

FONT = 16
CSS = ("<style>"
       '[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]'
       "{display: none !important}"
       ".st-key-presentation p, .st-key-presentation li {font-size: 1.35rem} "
       ".st-key-presentation h2 {font-size: 2.6rem} "
       ".st-key-presentation .mmviz-words {font-size: 1.5rem; line-height: 2.4} "
       ".st-key-presentation .mmviz-word {margin-right: 0.35em !important}"
       "</style>")


def presentation(res: ClipAnalysis) -> None:
    st.html(CSS)  # static CSS only
    ins, ex, f = res.inspection, res.explanation, res.features
    with st.container(key="presentation", border=True):
        st.header(f"{ui.plain(f.clip_id)}: {sentiment_class(ins.predictions.fused)} ({ins.predictions.fused:+.2f})", anchor=False)
        if ex.verdict is not None:
            st.markdown(f"**{ex.verdict.kind.capitalize()}.** {ui.plain(ex.verdict.text)}")
        left, right = st.columns([2, 3])
        with left:
            if res.media_path:
                player(res.media_path, 0.0)
        with right:
            wa = ex.word_attributions
            st.markdown("**What the words did** (blue pushes the score up, red down)")
            st.markdown(cf.word_attribution_html(wa.words if wa else (), wa.scores if wa else ()), unsafe_allow_html=True)  # escaped
        fig = cf.contribution_bars(ex)
        fig.update_layout(font=dict(size=FONT), height=380, margin=dict(l=90, r=40, t=110, b=50))
        fig.update_annotations(font_size=FONT)
        ui.chart(fig, key="pres_contrib")
        ui.chart(cf.timeline(f, ex, decisive_span=res.decisive_span, font_size=FONT), key="pres_tl")
