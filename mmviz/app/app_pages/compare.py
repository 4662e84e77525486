"""Compare two checkpoints on the same clip or the same dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mmviz.app_service import backend, cached, ui
from mmviz.errors import MmvizError
from mmviz.figures import clip as cf
from mmviz.figures import dataset as dfig



def _fusion_views(ins, attention, side: str) -> None:
    """Block-0 attention and the gates of one checkpoint, or why it has none (late / early / ume)."""
    st.caption(f"Strategy: {ins.strategy_label}")
    if not ins.has_fusion_tokens:
        st.info(ins.no_fusion_tokens_note())
        return
    ui.chart(cf.attention_heatmap(attention, 0), key=f"cmp_att_{side}")
    ui.chart(cf.fusion_gates(ins), key=f"cmp_g_{side}")


st.title("Compare checkpoints")
svc = cached.service_or_stop()
specs = backend.available_specs()
c1, c2, c3 = st.columns(3)
a = c1.selectbox("Checkpoint A", specs, index=0, key="cmp_a")
b = c2.selectbox("Checkpoint B", specs, index=min(1, len(specs) - 1), key="cmp_b")
custom = c3.text_input("…or B from a checkpoint folder on the server", key="cmp_custom")
b = custom.strip() or b
what = st.radio("Compare on", ["Current clip", "Dataset"], horizontal=True, key="cmp_what")

try:
    ra, rb = svc.runner_for(a), svc.runner_for(b)
except MmvizError as e:
    ui.error(e)
    st.stop()

if what == "Current clip":
    res = ui.current()
    if res is None:
        st.info("Open a clip in Clip review first.")
        st.stop()
    cmp = svc.compare_on_clip(res.features, a, b)
    ia, ib, diff = cmp.a, cmp.b, cmp.diff
    with st.container(key="compare-clip", border=True):
        st.subheader(ui.plain(res.features.clip_id), anchor=False)
        pa, pb = ia.predictions, ib.predictions
        heads = ("fused", "text", "audio", "visual")
        ui.chart(dfig.compare_bars({h: getattr(pa, h) for h in heads}, {h: getattr(pb, h) for h in heads}, f"A: {a}", f"B: {b}",
                                   "Scores under each checkpoint"), key="cmp_bars")
        st.dataframe(pd.DataFrame({"head": heads, "A": [getattr(pa, h) for h in heads], "B": [getattr(pb, h) for h in heads],
                                   "B − A": [diff["prediction_delta"][h] for h in heads]}), hide_index=True)
        if "embedding_cosine" in diff:
            st.caption("Embedding cosine A↔B: " + ", ".join(f"{k} {v:.3f}" for k, v in diff["embedding_cosine"].items()))
        l, r = st.columns(2)
        with l:
            st.markdown(f"**A** · {ia.checkpoint_hash[:12]}")
            _fusion_views(ia, cmp.attention_a, "a")
        with r:
            st.markdown(f"**B** · {ib.checkpoint_hash[:12]}")
            _fusion_views(ib, cmp.attention_b, "b")
else:
    try:
        da, db = cached.get_dataset(svc, "demo", runner=ra), cached.get_dataset(svc, "demo", runner=rb)
    except MmvizError as e:
        ui.error(e)
        st.stop()
    with st.container(key="compare-dataset", border=True):
        ma, mb = da.metrics, db.metrics
        keys = ["Has0_acc_2", "Has0_F1_score", "Mult_acc_7", "Corr"]
        ui.chart(dfig.compare_bars({k: ma[k] for k in keys}, {k: mb[k] for k in keys}, f"A: {a}", f"B: {b}", "Metrics"), key="cmp_m")
        st.dataframe(pd.DataFrame({"metric": list(ma), "A": list(ma.values()), "B": [mb[k] for k in ma],
                                   "B − A": [mb[k] - ma[k] for k in ma]}), hide_index=True)
        j = da.table[["clip_id", "label", "pred_fused"]].merge(db.table[["clip_id", "pred_fused"]], on="clip_id", suffixes=("_A", "_B"))
        j["B − A"] = j["pred_fused_B"] - j["pred_fused_A"]
        j["flips"] = np.sign(j["pred_fused_A"]) != np.sign(j["pred_fused_B"])
        st.subheader(f"Clips whose class flips: {int(j['flips'].sum())}", anchor=False)
        st.dataframe(j.sort_values("B − A", key=np.abs, ascending=False), hide_index=True, width="stretch")
