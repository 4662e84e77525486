"""Compare checkpoints: two on the clip open in Clip review, or two or more on any scored dataset."""

from __future__ import annotations

import streamlit as st

from mmviz.app.app_pages.compare_sections.clip import clip_section
from mmviz.app.app_pages.compare_sections.dataset import dataset_section
from mmviz.app_service import backend, cached

st.title("Compare checkpoints")
svc = cached.service_or_stop()
specs = backend.available_specs()
what = st.radio("Compare on", ["Current clip", "Dataset"], horizontal=True, key="cmp_what")
if what == "Current clip":
    clip_section(svc, specs)
else:
    dataset_section(svc, specs)
