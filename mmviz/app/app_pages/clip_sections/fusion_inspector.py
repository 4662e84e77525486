"""Clip review's fusion-token inspector: per-clip quantities, every bar numbered.

What it shows and why each is about *this* clip: how much each fusion block changed the
fusion tokens (the model's own record of its gated updates), what each token would predict
alone (the per-token head), where the attention went by modality and by time, whether the
attention follows the time attribution (Spearman), and, across a scored dataset, which tokens
never read audio or video (dead). The gates are constants of the checkpoint, stated once in
a caption, not drawn as if they described the clip.

Reads records only (the clip's Inspection and Explanation, the results store's inspections of
a scored dataset); never calls the model.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmviz.app_service import ui
from mmviz.app_service.datasets import cached_dataset
from mmviz.errors import MmvizError
from mmviz.explain.record import Explanation
from mmviz.explain.tokens import DeadTokenReport, dead_tokens
from mmviz.figures import clip as cf
from mmviz.inference.record import Inspection

_MEMO = "_dead_token_reports"  # this user's memo: (dataset, checkpoint) -> (report, note)


def dataset_dead_tokens(store, table: pd.DataFrame, checkpoint_hash: str, name: str) -> tuple[DeadTokenReport | None, str]:
    """Dead tokens over a scored dataset's stored inspections, and a sentence saying what was used.

    ``table``: the dataset's rows (``content_hash`` column); inspections are read from ``store``
    for ``checkpoint_hash``; rows whose features or inspection are not stored are counted, not
    recomputed (pages never call the model).
    """
    found: list[Inspection] = []
    for h in table.get("content_hash", pd.Series(dtype=str)).astype(str):
        feats = store.find_features(h)
        ins = store.get_inspection(checkpoint_hash, feats) if feats is not None else None
        if ins is not None:
            found.append(ins)
    missing = len(table) - len(found)
    if not found:
        return None, (f"Dead tokens need a scored dataset's inspections: none of the {len(table)} clips of "
                      f"{name!r} has a stored inspection with this checkpoint.")
    try:
        rep = dead_tokens(found)
    except MmvizError as e:
        return None, f"Dead tokens over {name!r} could not be computed: {e.message}"
    note = (f"Dead tokens over the {rep.n_clips} scored clips of {name!r}"
            + (f" ({missing} clips without a stored inspection left out)" if missing else "") + f". {rep.rule}")
    return rep, note


def _dataset_for(svc, checkpoint_hash: str):
    """A dataset this user scored with the clip's checkpoint, else the demo set if it was scored; else None."""
    for ds in st.session_state.get(ui.DATASETS, {}).values():
        if getattr(ds, "checkpoint_hash", None) == checkpoint_hash:
            return ds
    ds = cached_dataset(svc, "demo")
    return ds if ds is not None and ds.checkpoint_hash == checkpoint_hash else None


def _dead_report(svc, ins: Inspection) -> tuple[DeadTokenReport | None, str]:
    ds = _dataset_for(svc, ins.checkpoint_hash)
    if ds is None:
        return None, ("No dataset has been scored with this checkpoint yet, so dead tokens (tokens that never read audio "
                      "or video in any clip) cannot be counted: open the Dataset explorer once to score the demo set.")
    key = (ds.name, ds.checkpoint_hash, len(ds.table))
    memo = st.session_state.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = dataset_dead_tokens(svc.store, ds.table, ins.checkpoint_hash, ds.name)
    return memo[key]


def render(svc, ins: Inspection, ex: Explanation) -> None:
    """The inspector's charts and captions (call inside the page's ``fusion-inspector`` container)."""
    st.subheader("Fusion-token inspector", anchor=False)
    if not ins.has_fusion_tokens:  # late / early / ume
        st.info(ins.no_fusion_tokens_note())
        return
    tok = ex.token_diagnostics
    if tok is None:
        st.info("No fusion-token diagnostics for this clip (the model has no fusion blocks, or the analysis predates them).")
        return
    report, dead_note = _dead_report(svc, ins)
    dead = report.dead_tokens if report is not None else ()
    c = st.columns(2)
    with c[0]:
        ui.chart(cf.block_update_bars(ex), key="fi_updates")
        st.caption("① How much each fusion block changed the fusion tokens on this clip: the size of the gated "
                   "cross-attention (and feed-forward) update relative to the token state it is added to, as the "
                   "model recorded it; hover for the largest token.")
    with c[1]:
        ui.chart(cf.token_prediction_bars(ex, dead), key="fi_tokens")
        st.caption("② Each fusion token's own score (the per-token head, trained to predict the label alone) beside "
                   "the fused score: tokens that disagree with the fused score carry other evidence."
                   + (" † marks dead tokens." if dead else ""))
    c = st.columns(2)
    with c[0]:
        ui.chart(cf.attention_block_share(ex), key="fi_block_share")
        st.caption("③ Where each block's attention went: the null key means \"read nothing\".")
    with c[1]:
        ui.chart(cf.attention_time_share(ex), key="fi_time_share")
        st.caption("④ Share of all attention on the audio and visual keys of each stretch of the clip.")
    c = st.columns(2)
    with c[0]:
        ui.chart(cf.attention_attribution_agreement(ex), key="fi_agreement")
        st.caption("⑤ Spearman rank correlation between attention over time and the size of the time attribution "
                   "(integrated gradients per step). Near +1: the tokens look where the evidence is; near 0 or "
                   "negative: attention is not an explanation on this clip.")
    with c[1]:
        ui.chart(cf.dead_token_bars(report), key="fi_dead")
        st.caption("⑥ " + ui.plain(dead_note))
    with st.expander("Token similarity and per-token attention", expanded=False):
        pair = tok.most_similar_pair()
        if pair is not None:
            st.caption(f"Most alike: tokens {pair[0]} and {pair[1]} (cosine {pair[2]:.2f}); copies waste capacity.")
        c = st.columns(2)
        with c[0]:
            ui.chart(cf.token_similarity(ex), key="fi_similarity")
        with c[1]:
            ui.chart(cf.token_modality_share(ex), key="fi_share")
    st.caption(ui.plain(cf.gate_caption(ins)) + " They set how much of each block's update is kept; the charts above "
               "show what the blocks actually did on this clip.")
