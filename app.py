"""mmviz dashboard: navigation only. Each page lives in app_pages/ (one file per page)."""

import streamlit as st

st.set_page_config(page_title="mmviz", layout="wide")

pages = [
    st.Page("app_pages/clip_review.py", title="Clip review", default=True),
    st.Page("app_pages/dataset_explorer.py", title="Dataset explorer"),
    st.Page("app_pages/error_analysis.py", title="Error analysis"),
    st.Page("app_pages/compare.py", title="Compare checkpoints"),
    st.Page("app_pages/reports.py", title="Reports"),
    st.Page("app_pages/notes.py", title="Notes and tags"),
]
st.navigation(pages).run()
