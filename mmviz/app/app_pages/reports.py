"""Reports: HTML export (clip or dataset), PNG export hint, and presentation mode."""

from __future__ import annotations

import streamlit as st

from mmviz.app_service import cached, ui
from mmviz.app.app_pages.clip_sections.presentation import presentation
from mmviz.report import clip_report, dataset_report

st.title("Reports")
svc = cached.service_or_stop()
res = ui.current()

st.toggle("Presentation mode", key=ui.PRESENT, help="The clip alone, in large type, without the sidebar (turn it off here).")
if st.session_state.get(ui.PRESENT):
    if res is None:
        st.info("Open a clip in Clip review first.")
    else:
        presentation(res)
    st.stop()

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
            comp = st.session_state.get(ui.COMPETITION)
            comp = comp if comp is not None and comp.fused_checkpoint == ds.checkpoint_hash else None
            doc = dataset_report(ds.table, ds.metrics, svc.provenance() | {"checkpoint hash": ds.checkpoint_hash}, ds.source,
                                 competition=comp)
            st.download_button("Download dataset report", doc.encode(), key="dl_dataset", file_name="mmviz-dataset.html", mime="text/html")

