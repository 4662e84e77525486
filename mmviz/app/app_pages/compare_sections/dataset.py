"""Compare section: two or more checkpoints on one scored dataset — metrics, flips, verdict changes, Shapley shifts.

The dataset is the one open in the Dataset explorer, the demo set, the labelled uploads or a folder;
each checkpoint scores the same clips (kept on disk) and the model's verdicts (exact Shapley per
clip) are computed once per checkpoint with a progress bar. Every user-facing problem is shown as
an error beside the checkpoint it concerns; the others are still compared.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmviz.app_service import cached, ui
from mmviz.app_service.datasets import UPLOADS, DatasetView, uploads_dataset
from mmviz.app_service.rescore import parse_specs, view_under
from mmviz.app_service.service import AppService
from mmviz.data.comparison import compare_tables
from mmviz.errors import MmvizError
from mmviz.figures import competition as cfig
from mmviz.figures import dataset as dfig

OPEN, DEMO, FOLDER = "The dataset open in the Dataset explorer", "Demo set", "A folder on this server"
MEMO = "_compare_views"


def _pick_dataset(svc: AppService) -> DatasetView | None:
    """The dataset to compare on, or None after telling the user why not."""
    have_open = st.session_state.get(ui.DATASET) is not None
    sources = ([OPEN] if have_open else []) + [DEMO, UPLOADS, FOLDER]
    c1, c2 = st.columns(2)
    kind = c1.radio("Dataset", sources, key="cmp_ds_kind", horizontal=True)
    try:
        if kind == OPEN:
            ds = st.session_state[ui.DATASET]
        elif kind == DEMO:
            ds = cached.get_dataset(svc, "demo")
        elif kind == UPLOADS:
            ds = uploads_dataset(svc)
        else:
            folder = c2.text_input("Folder of clips (path on the server)", key="cmp_folder").strip()
            labels = c2.text_input("Labels CSV (optional: clip_id,label,…)", key="cmp_labels").strip()
            if not folder:
                st.info("Type the path of a folder that holds your clips.")
                return None
            lab = Path(labels).expanduser() if labels else None
            if lab is not None and not lab.is_file():
                raise MmvizError(f"No labels file at {labels}.", hint="Leave it empty or type the path of a CSV file.")
            ds = cached.get_dataset(svc, folder, lab)
    except MmvizError as e:
        ui.error(e)
        return None
    except (OSError, ValueError) as e:  # e.g. a labels CSV pandas cannot parse
        ui.error(f"Could not read that dataset: {e}")
        return None
    if ds.table is None or len(ds.table) == 0:
        ui.error("This dataset has no clips, so there is nothing to compare.")
        return None
    return ds


def _scored(svc: AppService, ds: DatasetView, spec: str) -> DatasetView:
    """``ds`` under checkpoint ``spec``, with verdicts (memoised for this user; on disk for everyone)."""
    r = svc.runner_for(spec)
    memo = st.session_state.setdefault(MEMO, {})
    key = (ds.source, len(ds.table), ds.checkpoint_hash, r.checkpoint_hash)
    if key not in memo:
        bar = st.progress(0.0, text=f"Scoring with {spec} and computing its verdicts (once)…")
        try:
            memo[key] = view_under(svc, ds, r, verdicts=True,
                                   progress=lambda s, f: bar.progress(min(max(f, 0.0), 1.0), text=f"{spec}: verdicts — {s}"))
        finally:
            bar.empty()
    return memo[key]


def dataset_section(svc: AppService, specs: list[str]) -> None:
    ds = _pick_dataset(svc)
    if ds is None:
        return
    st.caption(f"{len(ds.table)} clips · {ui.plain(ds.source)}")
    c1, c2 = st.columns(2)
    st.session_state.setdefault("cmp_specs", specs[:2])
    chosen = c1.multiselect("Checkpoints (the first is the baseline)", specs, key="cmp_specs")
    typed = c2.text_area("…and checkpoint folders on the server (one per line)", key="cmp_folders", height=80)
    names = list(dict.fromkeys(chosen + parse_specs(typed)))
    if len(names) < 2:
        st.info("Choose at least two checkpoints.")
        return
    tables = {}
    for spec in names:
        try:
            tables[spec] = _scored(svc, ds, spec).table
        except MmvizError as e:
            ui.error(f"{spec}: {e}")
    if len(tables) < 2:
        st.info("Fewer than two checkpoints could score this dataset; fix or remove the ones above.")
        return
    try:
        cmp = compare_tables(tables)
    except MmvizError as e:
        ui.error(e)
        return
    base = cmp.names[0]
    with st.container(key="compare-dataset", border=True):  # testids.COMPARE_DATASET
        st.subheader(f"{len(cmp.names)} checkpoints on {cmp.n} clips (baseline: {ui.plain(base)})", anchor=False)
        m = cmp.metrics
        if m["Has0_acc_2"].notna().any():
            keys = ["Has0_acc_2", "Has0_F1_score", "Mult_acc_7", "Corr"]
            if len(cmp.names) == 2:
                a, b = cmp.names
                ui.chart(dfig.compare_bars({k: m.iloc[0][k] for k in keys}, {k: m.iloc[1][k] for k in keys}, f"A: {a}", f"B: {b}",
                                           "Metrics"), key="cmp_m")
        else:
            st.caption("No labels: metrics need a labelled dataset; flips and verdicts are still compared.")
        st.dataframe(m, hide_index=True, width="stretch")
        with st.container(key="compare-flips"):
            st.subheader("Flips: " + ", ".join(f"{ui.plain(k)} {v}" for k, v in cmp.flips.items()), anchor=False)
            p = cmp.predictions
            flip_cols = [c for c in p if c.startswith("flip:")]
            shown = p[p[flip_cols].any(axis=1)] if flip_cols else p
            st.caption("Clips whose predicted class (score ≥ 0 positive) differs from the baseline's.")
            st.dataframe(shown, hide_index=True, width="stretch")
        with st.container(key="compare-shapley"):
            if cmp.has_verdicts:
                st.subheader("How the model reads the clips: verdicts and Shapley shifts", anchor=False)
                ui.chart(cfig.shapley_shift_bars(cmp.shapley_shift), key="cmp_shift")
                st.dataframe(cmp.shapley_shift, hide_index=True, width="stretch")
                st.caption(f"{len(cmp.verdicts)} clip(s) change their dominant modality (the model's verdict: largest "
                           "|exact Shapley value|) against the baseline.")
                if len(cmp.verdicts):
                    st.dataframe(cmp.verdicts, hide_index=True, width="stretch")
            else:
                st.caption("The model's verdicts are missing for some checkpoint, so Shapley shifts are not shown.")
    with st.container(key="compare-robustness", border=True):
        st.markdown("**Robustness** (placeholder)")
        st.caption("Robustness curves (accuracy as a modality is removed) live in the Robustness section of Error analysis; "
                   "open this dataset there with each checkpoint to compare them.")
