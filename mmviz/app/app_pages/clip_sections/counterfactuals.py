"""Counterfactuals of the current clip: drop, mask (one modality or all, over a span), shift, swap.

Each click asks the model one question about a changed input; the chart keeps one numbered bar
per distinct question (a repeated click adds nothing), on the fixed sentiment scale, and the
latest answer is laid beside the original head by head.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.datasets import cached_dataset, dataset_features
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.figures import clip as cf
from mmviz.records.modalities import MODALITIES

HEADS = ("fused", "text", "audio", "visual")
ALL = "all three"


def _add(new: list, standard: list) -> None:
    """Append the (result, predictions) pairs of ``new`` not already shown; say where a repeat already is."""
    cfs = st.session_state.setdefault(ui.CFS, [])
    for r, preds in new:
        shown = [c.name for c in standard] + [c.name for c, _ in cfs]
        if r.name in shown:
            st.session_state[ui.CF_NOTE] = f"“{r.name}” is already in the chart (bar {shown.index(r.name) + 1})."
            continue
        cfs.append((r, preds))
        st.session_state[ui.CF_LAST] = len(cfs) - 1


def counterfactual_section(svc: AppService, res: ClipAnalysis) -> None:
    feats, p = res.features, res.inspection.predictions
    standard = cf.unique_counterfactuals(res.explanation.counterfactuals or ())
    with st.container(key="counterfactuals", border=True):
        st.subheader("Counterfactuals", anchor=False)
        cols = st.columns(4)
        new: list = []
        try:
            with cols[0]:
                mod = st.selectbox("Modality", MODALITIES, key="cf_mod")
                if st.button("Drop it", key="cf_drop"):
                    r, ins = svc.counterfactual(feats, "drop", modality=mod)
                    new.append((r, ins.predictions))
            with cols[1]:
                d = max(feats.duration, 0.2)
                what = st.selectbox("Mask which modality", [ALL, *MODALITIES], key="cf_mask_mod",
                                    help="Audio/visual steps inside the span become unmeasured (the training mean); "
                                         "words inside it are removed.")
                span = st.slider("Span (s)", 0.0, d, (round(d / 3, 2), round(2 * d / 3, 2)), step=0.05, key="cf_span")
                if st.button("Mask span", key="cf_mask"):
                    r, ins = svc.counterfactual(feats, "mask", span=span,
                                                modalities=MODALITIES if what == ALL else (what,))
                    new.append((r, ins.predictions))
            with cols[2]:
                sh = st.slider("Shift audio (s)", -2.0, 2.0, 0.5, 0.1, key="cf_shift")
                if st.button("Shift", key="cf_shift_btn"):
                    r, ins = svc.counterfactual(feats, "shift", shift=sh)
                    new.append((r, ins.predictions))
            with cols[3]:
                ds = cached_dataset(svc, "demo")
                others = [c for c in ds.table["clip_id"].astype(str) if c != feats.clip_id] if ds is not None else []
                other = st.selectbox("Swap audio+visual with", others, key="cf_other") if others else None
                if st.button("Swap", key="cf_swap", disabled=other is None):
                    row = ds.table[ds.table["clip_id"].astype(str) == other].iloc[0]
                    of = dataset_features(svc, row)
                    for mm in ("audio", "visual"):
                        r, ins = svc.counterfactual(feats, "swap", modality=mm, other=of)
                        new.append((r, ins.predictions))
        except MmvizError as e:
            ui.error(e)
        if new:
            _add(new, standard)
        note = st.session_state.pop(ui.CF_NOTE, None)
        if note:
            st.info(ui.plain(note))
        cfs = st.session_state.get(ui.CFS, [])
        ui.chart(cf.counterfactual_bars(p.fused, standard + [c for c, _ in cfs]), key="cf_chart")
        st.caption(f"Bars 1–{len(standard)} are the standard set the explainer computed; later bars are yours, "
                   "numbered in the order asked." if standard else "Each bar is one changed input, numbered in the order asked.")
        last = st.session_state.get(ui.CF_LAST)
        if cfs and last is not None and last < len(cfs):
            r, preds = cfs[last]
            st.markdown(f"**Bar {len(standard) + last + 1}, {ui.plain(r.name)}, beside the original clip:**")
            table = pd.DataFrame({"head": HEADS, "original": [getattr(p, h) for h in HEADS],
                                  "changed": [getattr(preds, h) for h in HEADS]})
            table["change"] = table["changed"] - table["original"]
            with st.container(key="cf-beside"):
                st.dataframe(table, hide_index=True, width="stretch",
                             column_config={c: st.column_config.NumberColumn(format="%+.3f") for c in ("original", "changed", "change")})
        if cfs and st.button("Clear my counterfactuals", key="cf_clear"):
            st.session_state[ui.CFS] = []
            st.session_state.pop(ui.CF_LAST, None)
            st.rerun()
