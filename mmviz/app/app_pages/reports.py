"""Reports: HTML export (clip or dataset), PNG export hint, and presentation mode."""

from __future__ import annotations

import streamlit as st

from mmviz.app_service import cached, ui
from mmviz.figures import clip as cf
from mmviz.records.sentiment import sentiment_class
from mmviz.report import clip_report, dataset_report

st.title("Reports")
svc = cached.service_or_stop()
res = ui.current()

with st.container(key="report-export", border=True):
    st.subheader("Export an HTML report", anchor=False)
    st.caption("One self-contained file (plotly.js inline, works offline) with provenance: checkpoint hash, settings, seed, date. "
               "Any single figure: use the camera icon in its toolbar to download it as PNG.")
    c1, c2 = st.columns(2)
    with c1:
        if res is None:
            st.info("Open a clip in Clip review to export its report.")
        else:
            notes = cached.get_notes().for_clip(res.features.content_hash)
            html_doc = clip_report(res, svc.provenance(), notes=notes)
            st.download_button(f"Download clip report ({ui.plain(res.features.clip_id)})", html_doc.encode(), key="dl_clip",
                               file_name=f"mmviz-{res.features.content_hash[:12]}.html", mime="text/html", type="primary")
    with c2:
        ds = st.session_state.get(ui.DATASET)
        if ds is None:
            st.info("Open the Dataset explorer to export a dataset report.")
        else:
            doc = dataset_report(ds.table, ds.metrics, svc.provenance() | {"checkpoint hash": ds.checkpoint_hash}, ds.source)
            st.download_button("Download dataset report", doc.encode(), key="dl_dataset", file_name="mmviz-dataset.html", mime="text/html")

st.toggle("Presentation mode", key=ui.PRESENT)
if st.session_state.get(ui.PRESENT):
    if res is None:
        st.info("Open a clip in Clip review first.")
        st.stop()
    # static CSS only: no user text in here
    st.markdown("<style>.st-key-presentation p, .st-key-presentation div{font-size:1.35rem} "
                ".st-key-presentation h2{font-size:2.6rem}</style>", unsafe_allow_html=True)
    ins, ex, f = res.inspection, res.explanation, res.features
    with st.container(key="presentation", border=True):
        st.header(f"{ui.plain(f.clip_id)}: {sentiment_class(ins.predictions.fused)} ({ins.predictions.fused:+.2f})", anchor=False)
        if ex.verdict is not None:
            st.markdown(f"**{ex.verdict.kind.capitalize()}.** {ui.plain(ex.verdict.text)}")
        l, r = st.columns([3, 2])
        with l:
            fig = cf.timeline(f, ex, decisive_span=res.decisive_span)
            fig.update_layout(font=dict(size=16))
            ui.chart(fig, key="pres_tl")
        with r:
            if res.media_path:
                st.video(res.media_path)
            fig = cf.contribution_bars(ex)
            fig.update_layout(font=dict(size=16), height=340)
            ui.chart(fig, key="pres_contrib")
            wa = ex.word_attributions
            st.markdown(cf.word_attribution_html(wa.words if wa else (), wa.scores if wa else ()), unsafe_allow_html=True)  # escaped
