"""Dataset explorer: the demo set (or a folder of clips) on a t-SNE map; select points to filter."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmviz.app import page_path
from mmviz.app_service import cached, ui
from mmviz.app_service.datasets import UPLOADS, demo_available, uploads_dataset
from mmviz.errors import MmvizError
from mmviz.figures import dataset as dfig



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


st.title("Dataset explorer")
svc = cached.service_or_stop()

with st.container(key="dataset-source", border=True):
    c1, c2 = st.columns([2, 2])
    kind = c1.radio("Dataset", ["Demo set", "A folder on this server", UPLOADS], key="ds_kind", horizontal=True)
    folder = labels = None
    if kind == "A folder on this server":
        folder = c2.text_input("Folder of clips (path on the server)", key="ds_folder")
        labels = c2.text_input("Labels CSV (optional: clip_id,label,…)", key="ds_labels")
    elif not demo_available():
        c2.error("The demo clips are missing from this installation; name a folder of clips instead.")

source = "demo" if kind == "Demo set" else UPLOADS if kind == UPLOADS else (folder or "").strip()
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
c1, c2 = st.columns(2)
color = c1.selectbox("Colour by", list(dfig.COLOR_BY), key="ds_color")
spaces = list(ds.spaces) or ["fused"]
space = c2.selectbox("Embedding", spaces, key="ds_space",
                     help="t-SNE (openTSNE) of the fused embedding or of one modality's pooled embedding")
if ds.maps is not None and space in ds.maps.maps:
    c2.caption(f"Trustworthiness of this map: {ds.maps[space].trustworthiness:.2f} (1 = neighbourhoods kept)")
with st.container(key="tsne-map"):
    ev = ui.chart(dfig.dataset_map(t, color, space=space), key=f"ds_map_{color}_{space}", on_select="rerun",
                  selection_mode=("points", "box", "lasso"))
rows = sorted({r for r in (_row_of(p) for p in (ev.selection.points if ev else [])) if r is not None})
shown = t.iloc[rows] if rows else t
cols = [c for c in ("clip_id", "label", "pred_fused", "pred_text", "pred_audio", "pred_visual", "abs_error", "planted_modality",
                    "loudest_head", "heads_disagree", "duration", "transcript_source") if c in shown.columns]
with st.container(key="clip-table"):
    st.caption(f"Showing {len(shown)} of {len(t)} clips" + (" (selected on the map; click empty space to clear)" if rows else
                                                           " (select points on the map with a click, box or lasso to filter)"))
    sel = st.dataframe(shown[cols], key="ds_table", on_select="rerun", selection_mode="single-row", hide_index=True,
                       width="stretch", column_config={"pred_fused": st.column_config.NumberColumn(format="%.2f"),
                                                                "abs_error": st.column_config.NumberColumn(format="%.2f")})
picked = sel.selection.rows if sel else []
if picked:
    row = shown.iloc[picked[0]]
    if st.button(f"Open {ui.plain(row['clip_id'])} in Clip review", key="open_in_review", type="primary"):
        st.session_state[ui.OPEN] = row.to_dict()
        st.switch_page(page_path("clip_review.py"))
