"""Dataset explorer: the demo set (or a folder of clips) on a t-SNE map; select points to filter.

Beside the map: the model's own verdicts (exact Shapley per clip), modality alignment (cosine,
R@k), the analyst's slices with their metrics, and the clips most similar to the chosen one.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmviz.app import page_path
from mmviz.app_service import cached, ui
from mmviz.app_service.datasets import UPLOADS, demo_available, uploads_dataset
from mmviz.app_service.view_extras import alignment_table, similar_clips, slice_store, slice_table, view_slice_metrics
from mmviz.data.table import column
from mmviz.errors import MmvizError
from mmviz.figures import dataset as dfig

DEMO, FOLDER = "Demo set", "A folder on this server"
SOURCES = [DEMO, FOLDER, UPLOADS]  # the dataset sources offered (a page may add one: keep DEMO first)
TABLE_COLS = ("clip_id", "label", "pred_fused", "pred_text", "pred_audio", "pred_visual", "abs_error", "model_dominant",
              "model_conflict", "planted_modality", "planted_conflict", "loudest_head", "heads_disagree", "duration",
              "transcript_source")
NUM = st.column_config.NumberColumn


def _row_of(point: dict) -> int | None:
    """Table row of a selected map point (its ``customdata`` holds the row index)."""
    cd = point.get("customdata")
    if isinstance(cd, dict):
        cd = next(iter(cd.values()), None)
    if isinstance(cd, (list, tuple)):
        cd = cd[0] if cd else None
    try:
        return int(cd)
    except (TypeError, ValueError):
        return None


def _col_config(cols) -> dict:
    """Column headers say where each value comes from (model / ground truth / rule), from mmviz.data.table."""
    out = {}
    for c in cols:
        d = column(c)
        fmt = "%.2f" if d.kind == "number" and c != "duration" else None
        out[c] = NUM(d.title, help=d.description or None, format=fmt) if d.kind == "number" else st.column_config.Column(
            d.title, help=d.description or None)
    return out


def _open_button(row, key: str) -> None:
    if st.button(f"Open {ui.plain(row['clip_id'])} in Clip review", key=key, type="primary"):
        st.session_state[ui.OPEN] = row.to_dict()
        st.switch_page(page_path("clip_review.py"))


st.title("Dataset explorer")
svc = cached.service_or_stop()

with st.container(key="dataset-source", border=True):
    c1, c2 = st.columns([2, 2])
    kind = c1.radio("Dataset", SOURCES, key="ds_kind", horizontal=True)
    folder = labels = None
    if kind == FOLDER:
        folder = c2.text_input("Folder of clips (path on the server)", key="ds_folder")
        labels = c2.text_input("Labels CSV (optional: clip_id,label,…)", key="ds_labels")
    elif kind == DEMO and not demo_available():
        c2.error("The demo clips are missing from this installation; name a folder of clips instead.")

source = "demo" if kind == DEMO else UPLOADS if kind == UPLOADS else (folder or "").strip()
if not source:
    st.info("Type the path of a folder that holds your clips.")
    st.stop()
try:
    lab_path = Path(labels).expanduser() if labels else None
    if lab_path is not None and not lab_path.is_file():
        raise MmvizError(f"No labels file at {labels}.", hint="Leave it empty or type the path of a CSV file.")
    ds = uploads_dataset(svc) if kind == UPLOADS else cached.get_dataset(svc, source, lab_path)
except MmvizError as e:
    ui.error(e)
    st.stop()

t = ds.table
st.session_state[ui.DATASET] = ds
st.caption(f"{len(t)} clips · {ui.plain(ds.source)} · checkpoint {ds.checkpoint_hash[:12]}")
c1, c2, c3 = st.columns([2, 2, 2])
color = c1.selectbox("Colour by", list(dfig.COLOR_BY), key="ds_color")
spaces = list(ds.spaces) or ["fused"]
space = c2.selectbox("Embedding", spaces, key="ds_space",
                     help="t-SNE (openTSNE) of the fused embedding or of one modality's pooled embedding")
mode = c3.radio("Select on the map by", list(dfig.SELECT_MODES), key="ds_select", horizontal=True,
                help="click: a click selects one point (shift-click adds more; dragging pans). box / lasso: drag around points.")
left, right = st.columns([3, 2])
with left:
    if ds.maps is not None and space in ds.maps.maps:
        st.caption(f"Trustworthiness of this map: {ds.maps[space].trustworthiness:.2f} (1 = neighbourhoods kept)")
    with st.container(key="tsne-map"):
        ev = ui.chart(dfig.dataset_map(t, color, space=space, select=mode), key=f"ds_map_{color}_{space}_{mode}",
                      on_select="rerun", selection_mode=("points", "box", "lasso"))
with right:
    with st.container(key="alignment-metrics", border=True):
        st.markdown("**Do the modalities line up?** (pooled embeddings of the same clip)")
        al = alignment_table(ds)
        if al.empty:
            st.caption("Too few clips (or no video) to measure alignment.")
        else:
            shown_al = al[["pair", "cosine matched", "cosine mismatched", "R@1 →", "R@5 →", "chance R@1", "chance R@5"]]
            st.table(shown_al.set_index("pair").map(lambda v: f"{v:.2f}"))
            st.caption("Cosine of each clip's own pair vs of other clips' pairs; R@k: share of clips whose own partner is among "
                       "the k most similar (→ from the first to the second). Text ↔ audio/visual go through a cross-fitted "
                       "ridge projection (they have different widths).")
from mmviz.app.app_pages.dataset_sections.alignment import alignment_section  # noqa: E402
alignment_section(svc, ds)
if "model_dominant" in t:
    with st.container(key="dataset-verdicts", border=True):
        st.markdown("**The model's verdicts** (exact Shapley values of text, audio and video, computed for each clip)")
        v1, v2 = st.columns(2)
        with v1:
            ui.chart(dfig.verdict_shares(t), key="verdict_shares")
        with v2:
            if t["correct"].notna().any():
                ui.chart(dfig.error_by_verdict(t), key="verdict_errors")
        st.caption(f"Modalities conflict (one pushes ≥ +0.25, another ≤ −0.25) in {t['model_conflict'].astype(bool).mean():.0%} "
                   "of clips. Planted answers are ground truth from the demo generator; the largest-head bars are a rule.")

rows = sorted({r for r in (_row_of(p) for p in (ev.selection.points if ev else [])) if r is not None})
shown = t.iloc[rows] if rows else t
cols = [c for c in TABLE_COLS if c in shown.columns]
with st.container(key="clip-table"):
    st.caption(f"Showing {len(shown)} of {len(t)} clips" + (" (selected on the map; click empty space to clear)" if rows else
                                                           " (select points on the map with a click, box or lasso to filter)"))
    sel = st.dataframe(shown[cols], key="ds_table", on_select="rerun", selection_mode="single-row", hide_index=True,
                       width="stretch", column_config=_col_config(cols))
picked = sel.selection.rows if sel else []
chosen = shown.iloc[picked[0]] if picked else None
if chosen is not None:
    _open_button(chosen, "open_in_review")

with st.container(key="user-slices", border=True):
    st.markdown("**Your slices** (kept with this dataset; metrics of the fused prediction and of each head)")
    ids = list(shown["clip_id"].astype(str)) if rows else ([str(chosen["clip_id"])] if chosen is not None else [])
    store = slice_store(ds)
    have = list(store.load())
    c1, c2, c3 = st.columns([3, 2, 2])
    name = c1.text_input("Slice name", key="slice_name", placeholder="e.g. loud audio, wrong")
    add_to = c2.selectbox("or tag into", ["(new slice)"] + have, key="slice_into")
    c3.caption(f"{len(ids)} clip(s) selected")
    if c3.button("Save selection", key="slice_save", disabled=not ids):
        try:
            target = name if add_to == "(new slice)" else add_to
            store.save(target, ids, add=add_to != "(new slice)")
            st.success(f"Saved {len(ids)} clip(s) in slice {ui.plain(' '.join(str(target).split()))}.")
        except MmvizError as e:
            ui.error(e)
    metrics = view_slice_metrics(ds)
    st.table(slice_table(metrics))

if chosen is not None:
    with st.container(key="similar-clips", border=True):
        st.markdown(f"**Clips most similar to {ui.plain(chosen['clip_id'])}** (cosine distance of pooled embeddings)")
        c1, c2 = st.columns(2)
        sim_space = c1.selectbox("In the embedding space of", list(ds.embeddings), key="sim_space")
        k = c2.slider("How many", 1, min(20, max(1, len(t) - 1)), min(5, max(1, len(t) - 1)), key="sim_k")
        try:
            near = similar_clips(ds, int(t.index[t["clip_id"].astype(str) == str(chosen["clip_id"])][0]), sim_space, k)
        except MmvizError as e:
            ui.error(e)
            st.stop()
        ncols = ["clip_id", "distance"] + [c for c in ("label", "pred_fused", "model_dominant", "planted_modality") if c in near]
        nsel = st.dataframe(near[ncols], hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                            key="sim_table", column_config=_col_config([c for c in ncols if c != "distance"])
                            | {"distance": NUM("distance (1 − cosine)", format="%.3f")})
        if nsel and nsel.selection.rows:
            _open_button(near.iloc[nsel.selection.rows[0]].drop(labels=["distance", "row"]), "open_similar")
