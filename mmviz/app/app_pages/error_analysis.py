"""Error analysis: metrics, confusion matrices, worst errors, slices, robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mmviz.app import page_path
from mmviz.app_service import cached, ui
from mmviz.app_service.datasets import robustness
from mmviz.app_service.robustness import strategy_robustness
from mmviz.app_service.view_extras import slice_table, view_slice_metrics
from mmviz.data.table import column, slice_columns
from mmviz.errors import MmvizError
from mmviz.figures import dataset as dfig
from mmviz.figures.robustness import robustness_chart

st.title("Error analysis")
svc = cached.service_or_stop()
ds = st.session_state.get(ui.DATASET)
if ds is None:
    try:
        ds = cached.get_dataset(svc, "demo")
    except MmvizError as e:
        ui.error(e)
        st.stop()
st.caption(f"Dataset: {ui.plain(ds.source)} · {len(ds.table)} clips · checkpoint {ds.checkpoint_hash[:12]} (change it in the Dataset explorer)")
t = ds.table
lab = pd.to_numeric(t["label"], errors="coerce")
if lab.notna().sum() == 0:
    st.warning("This dataset has no labels, so there is nothing to score against. Give a labels CSV in the Dataset explorer.")
    st.stop()
tl = t[lab.notna()]

with st.container(key="metrics", border=True):
    st.subheader("Metrics (MOSI / MMSA definitions)", anchor=False)
    m = ds.metrics
    keys = ["Has0_acc_2", "Has0_F1_score", "Non0_acc_2", "Non0_F1_score", "Mult_acc_7", "MAE", "Corr"]
    cols = st.columns(len(keys))
    for c, k in zip(cols, keys):
        c.metric(k.replace("_", " "), "n/a" if not np.isfinite(m[k]) else f"{m[k]:.3f}")
    st.session_state[ui.METRICS] = m

c1, c2 = st.columns(2)
with c1:
    with st.container(key="confusion-2"):
        ui.chart(dfig.confusion_matrix(tl, 2), key="cm2")
with c2:
    with st.container(key="confusion-7"):
        ui.chart(dfig.confusion_matrix(tl, 7), key="cm7")

with st.container(key="worst-errors", border=True):
    st.subheader("Worst errors", anchor=False)
    worst = tl.sort_values("abs_error", ascending=False).head(10)
    cols = [c for c in ("clip_id", "label", "pred_fused", "abs_error", "model_dominant", "model_conflict", "planted_modality",
                        "loudest_head", "transcript") if c in worst]
    sel = st.dataframe(worst[cols], hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="worst",
                       column_config={c: st.column_config.Column(column(c).title, help=column(c).description or None) for c in cols})
    if sel and sel.selection.rows:
        row = worst.iloc[sel.selection.rows[0]]
        if st.button(f"Open {ui.plain(row['clip_id'])} in Clip review", key="open_worst"):
            st.session_state[ui.OPEN] = row.to_dict()
            st.switch_page(page_path("clip_review.py"))

if "model_dominant" in tl:
    with st.container(key="dataset-verdicts", border=True):
        st.subheader("The model's verdicts and where it errs", anchor=False)
        c1, c2 = st.columns(2)
        with c1:
            ui.chart(dfig.verdict_shares(tl), key="ea_verdict_shares")
        with c2:
            ui.chart(dfig.error_by_verdict(tl), key="ea_error_by_verdict")
        st.caption("Verdicts come from the model: exact Shapley values of text, audio and video for each clip (dominant = "
                   "largest |value|; conflict = one ≥ +0.25 and another ≤ −0.25). Planted answers are the demo generator's "
                   "ground truth, shown beside them; the largest unimodal head is a rule.")

with st.container(key="user-slices", border=True):
    st.subheader("Your slices", anchor=False)
    try:
        sm = view_slice_metrics(ds)
    except MmvizError as e:
        ui.error(e)
    else:
        if len(sm["slice"].unique()) <= 1:
            st.caption("Save a selection as a slice in the Dataset explorer to compare it here.")
        st.table(slice_table(sm))

with st.container(key="slices", border=True):
    st.subheader("Slices: unimodal heads vs fused", anchor=False)
    opts = slice_columns(tl)
    by = st.selectbox("Slice by", opts, key="slice_by", format_func=lambda c: column(c).title)
    ui.chart(dfig.slice_accuracy(tl, by), key="slice_chart")

with st.container(key="robustness", border=True):
    st.subheader("Robustness when a modality is removed", anchor=False)
    rkey = ("robust", ds.source, ds.checkpoint_hash)
    if st.button("Compute robustness curve", key="robust_btn") or rkey in st.session_state:
        if rkey not in st.session_state:
            bar = st.progress(0.0, text="Removing modalities…")
            try:
                st.session_state[rkey] = robustness(svc, ds, progress=lambda s, f: bar.progress(min(f, 1.0), text=s))
            except MmvizError as e:
                ui.error(e)
            bar.empty()
        if rkey in st.session_state:
            ui.chart(dfig.robustness_curve(st.session_state[rkey]), key="robust_chart")
    else:
        st.caption("Runs the model again on every clip with 25–100 % of one modality removed (seeded).")

with st.container(key="strategy-robustness", border=True):
    st.subheader("Robustness of each checkpoint: noise, then removal", anchor=False)
    st.caption("Fused Acc-2 and MAE on the labelled clips as each modality gets Gaussian noise of growing σ (in the model's "
               "normalised feature units; for text, that share of words dropped, seeded), then is removed exactly as the "
               "explainers remove it. Add other checkpoint folders (e.g. other fusion strategies) to draw them on the same chart.")
    extra = st.text_area("Other checkpoint folders (one per line)", key="robust_extra", height=80,
                         placeholder="runs/late\nruns/ume")
    skey = ("strategy-robust", ds.source, ds.checkpoint_hash, svc.runner.checkpoint_hash, extra.strip())
    if st.button("Compute robustness curves", key="strategy_robust_btn") and skey not in st.session_state:
        bar = st.progress(0.0, text="Corrupting and removing modalities…")
        try:
            st.session_state[skey] = strategy_robustness(svc, ds, extra, progress=lambda s, f: bar.progress(min(f, 1.0), text=s))
        except MmvizError as e:
            ui.error(e)
        bar.empty()
    if skey in st.session_state:
        ui.chart(robustness_chart(st.session_state[skey]), key="strategy_robust_chart")

from mmviz.app.app_pages.error_sections.competition import competition_section  # noqa: E402
competition_section(svc, ds)
