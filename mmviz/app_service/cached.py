"""Streamlit glue: the service and notes DB are created once per server (``st.cache_resource``);
what one user is looking at lives in their own ``st.session_state`` (never shared).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mmviz.app_service import backend, ui
from mmviz.app_service.datasets import DatasetView, score_dataset
from mmviz.app_service.service import AppService
from mmviz.app_service.view_extras import with_verdicts
from mmviz.errors import MmvizError
from mmviz.notes import NotesDB


def app_cache() -> Path:
    """The dashboard's cache folder (``Settings.app_cache``)."""
    return backend.cache_dir()


@st.cache_resource(show_spinner="Loading the model (once per server)…")
def _service(spec: str, cache: str) -> AppService:
    svc = AppService(spec, Path(cache))
    svc.start_warm_up()  # once per server, in the background (see AppService.warm_up)
    return svc


def get_service(spec: str | None = None) -> AppService:
    return _service(spec or backend.default_spec(), str(app_cache()))


@st.cache_resource
def _notes(path: str) -> NotesDB:
    return NotesDB(path)


def get_notes() -> NotesDB:
    return _notes(str(app_cache() / "notes.sqlite"))


def service_or_stop() -> AppService:
    """The service, or a user-facing error and a stopped page."""
    try:
        return get_service()
    except MmvizError as e:
        ui.error(e)
        st.stop()


def get_dataset(svc: AppService, source: str = "demo", labels_csv: Path | None = None, runner=None) -> DatasetView:
    """A scored dataset; the first time shows progress, later calls read the disk cache instantly."""
    key = ("dataset", source, str(labels_csv), (runner or svc.runner).checkpoint_hash)
    memo = st.session_state.setdefault(ui.DATASETS, {})
    if key in memo:
        return memo[key]
    bar = st.progress(0.0, text="Scoring the dataset (once; results are kept on disk)…")

    def progress(name: str, frac: float) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=f"Scoring {name}")

    def explaining(stage: str, frac: float) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=f"The model's verdict on each clip (exact Shapley, once) — {stage}")

    try:
        ds = score_dataset(svc, source, labels_csv, runner=runner, progress=progress)
        ds = with_verdicts(svc, ds, runner=runner, progress=explaining)
    finally:
        bar.empty()
    memo[key] = ds
    return ds
