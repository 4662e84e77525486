"""mmviz dashboard: navigation only. Each page lives in app_pages/ (one file per page)."""

import streamlit as st

from mmviz.app import page_path

st.set_page_config(page_title="mmviz", layout="wide")

pages = [
    st.Page(page_path("clip_review.py"), title="Clip review", default=True),
    st.Page(page_path("dataset_explorer.py"), title="Dataset explorer"),
    st.Page(page_path("error_analysis.py"), title="Error analysis"),
    st.Page(page_path("compare.py"), title="Compare checkpoints"),
    st.Page(page_path("reports.py"), title="Reports"),
    st.Page(page_path("notes.py"), title="Notes and tags"),
]
st.navigation(pages).run()
