"""Dataset explorer section: text, audio and visual of the same clips on one map, aligner on vs off."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.datasets import DatasetView
from mmviz.app_service.rescore import view_under
from mmviz.app_service.service import AppService
from mmviz.errors import MmvizError
from mmviz.explain.alignment_view import AlignmentView, alignment_view
from mmviz.figures import competition as cfig

METRIC_COLS = ["pair", "cosine matched", "cosine mismatched", "R@1 →", "R@5 →", "R@1 ←", "R@5 ←", "chance R@1", "chance R@5"]


def _view(ds: DatasetView, method: str) -> AlignmentView:
    """Memoised on the dataset view (one projection per method, not one per rerun)."""
    key = ("alignment_view", method)
    if key not in ds._memo:
        ids = list(ds.table["clip_id"].astype(str))
        ds._memo[key] = alignment_view(ds.embeddings, ids, method=method, checkpoint_hash=ds.checkpoint_hash)
    return ds._memo[key]


def _show(view: AlignmentView, name: str, key: str) -> None:
    ui.chart(cfig.alignment_map(view, title=f"{name}: {view.method.upper()} of the modalities"), key=key)
    st.table(pd.DataFrame(view.metrics())[METRIC_COLS].set_index("pair").map(lambda v: f"{v:.2f}"))
    how = ("as they are (all modalities share one width, e.g. the shared-prompt aligner)" if view.projection == "none"
           else f"after a cross-fitted ridge projection into the {view.space} space (widths differ)")
    st.caption(f"{view.n} clips; compared {how}.")


def alignment_section(svc: AppService, ds: DatasetView) -> None:
    """The map and metrics for the loaded checkpoint, and beside them for a second checkpoint (e.g. aligner on vs off)."""
    with st.container(key="alignment-view", border=True):  # testids.ALIGNMENT_VIEW
        st.subheader("Do the modalities of a clip meet? (one map for text, audio and visual)", anchor=False)
        c1, c2 = st.columns([1, 3])
        method = c1.radio("Projection", ["pca", "tsne"], key="al_method", horizontal=True,
                          format_func=lambda m: {"pca": "PCA", "tsne": "t-SNE"}[m])
        other = c2.text_input("Second checkpoint beside it (folder or tiny:<seed>, e.g. the same run with --aligner "
                              "shared-prompt)", key="al_other").strip()
        try:
            views = [(f"This checkpoint ({ds.checkpoint_hash[:12]})", _view(ds, method))]
            if other:
                r = svc.runner_for(other)
                memo = st.session_state.setdefault("_alignment_views", {})
                mkey = (ds.source, len(ds.table), r.checkpoint_hash, method)
                if mkey not in memo:
                    with st.spinner("Scoring the dataset with the second checkpoint (once; kept on disk)…"):
                        memo[mkey] = _view(view_under(svc, ds, r), method)
                views.append((f"{ui.plain(other)} ({r.checkpoint_hash[:12]})", memo[mkey]))
        except MmvizError as e:
            ui.error(e)
            return
        cols = st.columns(len(views))
        for i, (col, (name, v)) in enumerate(zip(cols, views)):
            with col:
                _show(v, name, key=f"al_map_{method}_{i}")
        st.caption("Each point is one clip in one modality; grey lines join a clip's points (hover shows the clip). Matched: "
                   "cosine of a clip's own pair; mismatched: of other clips' pairs; R@k: share of clips whose own partner is "
                   "among the k most similar (→ first to second modality).")
