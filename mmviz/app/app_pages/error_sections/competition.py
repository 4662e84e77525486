"""Error analysis section: is a modality crowded out inside the fused model? (probes and heads vs a reference)."""

from __future__ import annotations

import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.datasets import DatasetView
from mmviz.app_service.rescore import readout, view_under
from mmviz.app_service.service import AppService
from mmviz.data.competition import CROWDED_RULE, DEFAULT_MARGIN, MIN_LABELLED, competition_report
from mmviz.errors import MmvizError
from mmviz.figures import competition as cfig

SHOWN = ["modality", "probe Acc-2 (fused)", "probe Acc-2 (reference)", "probe gap", "probe MAE (fused)", "probe MAE (reference)",
         "head Acc-2 (fused)", "head Acc-2 (reference)", "head MAE (fused)", "head MAE (reference)", "head r (fused)",
         "head r (reference)", "crowded out"]


def competition_section(svc: AppService, ds: DatasetView) -> None:
    """Probe each modality's embedding inside the loaded checkpoint, optionally against a reference run."""
    with st.container(key="competition", border=True):  # testids.COMPETITION
        st.subheader("Modality competition: is a modality crowded out?", anchor=False)
        st.caption("A cross-validated ridge probe reads the labels from each modality's embedding inside this checkpoint; the "
                   "same probe on a reference whose encoders learnt alone (a uni-modal ensemble, `mmviz train --strategy ume`, "
                   "or a unimodal run) says how much the modality carries on its own. Rule: "
                   + CROWDED_RULE.format(margin=DEFAULT_MARGIN) + ".")
        ref_spec = st.text_input("Reference checkpoint (folder on the server, or tiny:<seed>; empty: this checkpoint alone)",
                                 key="comp_ref").strip()
        key = ("competition", ds.source, ds.checkpoint_hash, ref_spec)
        if st.button("Run the diagnostics", key="comp_run"):
            st.session_state.pop(key, None)
            try:
                st.session_state[key] = _report(svc, ds, ref_spec)
            except MmvizError as e:
                ui.error(e)
                return
        rep = st.session_state.get(key)
        if rep is None:
            st.caption(f"Needs at least {MIN_LABELLED} labelled clips; re-scores the dataset with the reference once (kept on disk).")
            return
        st.session_state[ui.COMPETITION] = rep
        ui.chart(cfig.competition_bars(rep), key="comp_chart")
        t = rep.table()
        st.dataframe(t[[c for c in SHOWN if c in t]], hide_index=True, width="stretch")
        if not rep.has_reference:
            st.info("No reference: only this checkpoint's probes and heads are shown. Enter a UME or unimodal checkpoint to flag "
                    "crowded-out modalities.")
        elif rep.crowded_out:
            st.warning("Crowded out inside the fused model: " + ", ".join(rep.crowded_out) + f" ({rep.n} labelled clips).")
        else:
            st.success(f"No modality is crowded out by the rule ({rep.n} labelled clips).")
        if rep.reference_strategy and rep.reference_strategy != "ume":
            st.caption(f"The reference is a {ui.plain(rep.reference_strategy)} checkpoint: its heads are not independently "
                       "trained members, so compare the heads with care.")


def _report(svc: AppService, ds: DatasetView, ref_spec: str):
    if svc.runner.checkpoint_hash != ds.checkpoint_hash:
        raise MmvizError("This dataset view was scored with another checkpoint than the one loaded.",
                         hint="Open the dataset again in the Dataset explorer.")
    fused = readout(ds, svc.spec, svc.runner)
    reference = None
    if ref_spec:
        r = svc.runner_for(ref_spec)
        with st.spinner("Scoring the dataset with the reference (once; kept on disk)…"):
            reference = readout(view_under(svc, ds, r), ref_spec, r)
    return competition_report(fused, ds.table["label"], reference)
