"""Compare section: two checkpoints on the clip open in Clip review (scores, attention, gates)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.figures import clip as cf
from mmviz.figures import dataset as dfig

HEADS = ("fused", "text", "audio", "visual")


def _fusion_views(ins, attention, side: str) -> None:
    """Block-0 attention and the gates of one checkpoint, or why it has none (late / early / ume)."""
    st.caption(f"Strategy: {ins.strategy_label}")
    if not ins.has_fusion_tokens:
        st.info(ins.no_fusion_tokens_note())
        return
    ui.chart(cf.attention_heatmap(attention, 0), key=f"cmp_att_{side}")
    ui.chart(cf.fusion_gates(ins), key=f"cmp_g_{side}")


def clip_section(svc: AppService, specs: list[str]) -> None:
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Checkpoint A", specs, index=0, key="cmp_a")
    b = c2.selectbox("Checkpoint B", specs, index=min(1, len(specs) - 1), key="cmp_b")
    custom = c3.text_input("…or B from a checkpoint folder on the server", key="cmp_custom")
    b = custom.strip() or b
    res = ui.current()
    if res is None:
        st.info("Open a clip in Clip review first.")
        return
    try:
        svc.runner_for(a), svc.runner_for(b)
        cmp = svc.compare_on_clip(res.features, a, b)
    except MmvizError as e:
        ui.error(e)
        return
    ia, ib, diff = cmp.a, cmp.b, cmp.diff
    with st.container(key="compare-clip", border=True):
        st.subheader(ui.plain(res.features.clip_id), anchor=False)
        pa, pb = ia.predictions, ib.predictions
        ui.chart(dfig.compare_bars({h: getattr(pa, h) for h in HEADS}, {h: getattr(pb, h) for h in HEADS}, f"A: {a}", f"B: {b}",
                                   "Scores under each checkpoint"), key="cmp_bars")
        st.dataframe(pd.DataFrame({"head": HEADS, "A": [getattr(pa, h) for h in HEADS], "B": [getattr(pb, h) for h in HEADS],
                                   "B − A": [diff["prediction_delta"][h] for h in HEADS]}), hide_index=True)
        if "embedding_cosine" in diff:
            st.caption("Embedding cosine A↔B: " + ", ".join(f"{k} {v:.3f}" for k, v in diff["embedding_cosine"].items()))
        left, right = st.columns(2)
        with left:
            st.markdown(f"**A** · {ia.checkpoint_hash[:12]}")
            _fusion_views(ia, cmp.attention_a, "a")
        with right:
            st.markdown(f"**B** · {ib.checkpoint_hash[:12]}")
            _fusion_views(ib, cmp.attention_b, "b")
