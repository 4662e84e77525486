"""Explanations made by batch scoring (``mmviz score --explain``), kept beside the store's records.

Layout under the results store root, next to ``features/``, ``inspections/`` and ``datasets/``::

    explanations/<checkpoint_hash>/<content_hash>-<words_key>-<settings_key>.json|.npz

The key holds everything the record depends on: the clip's bytes, the transcript the model
read, the checkpoint, and the explanation settings. A clip already explained is not explained
again. (Written with the store's public record format; :class:`~mmviz.data.store.ResultsStore`
itself is left as it is.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from mmviz.data.store import ResultsStore, settings_key
from mmviz.explain.record import Explanation, ExplainSettings
from mmviz.features.record import ClipFeatures
from mmviz.inference.record import Inspection
from mmviz.records.serialize import load_record, save_record


def explanation_path(store: ResultsStore, checkpoint_hash: str, feats: ClipFeatures, settings: ExplainSettings) -> Path:
    """Where the explanation of ``feats`` through this checkpoint with these settings is kept."""
    words = hashlib.sha256(feats.transcript.encode()).hexdigest()[:8]
    return store.root / "explanations" / checkpoint_hash / f"{feats.content_hash}-{words}-{settings_key(settings.to_dict())}.json"


def explain_into_store(runner, feats: ClipFeatures, inspection: Inspection, store: ResultsStore,
                       settings: ExplainSettings | None = None) -> Path:
    """Explain one clip with every applicable method (``explain_clip``) unless already stored;
    returns the record's path. ``inspection`` is the clip's stored Inspection (saves a forward)."""
    from mmviz.explain import explain_clip

    settings = settings or ExplainSettings()
    p = explanation_path(store, runner.checkpoint_hash, feats, settings)
    if p.exists():
        return p
    with runner.lock:
        e = explain_clip(runner, feats, settings, inspection=inspection)
    return save_record(e, p)


def explain_table(table: pd.DataFrame, runner, store: ResultsStore, settings: ExplainSettings | None = None) -> pd.DataFrame:
    """Explain every clip of a scored table (local engine, ``mmviz score --explain``); adds the
    column ``explanation``: each record's path under the store root ("" for skipped clips)."""
    from mmviz.data.scoring import features_key

    paths = []
    for _, r in table.iterrows():
        if r.get("error"):
            paths.append("")
            continue
        feats = store.get_features(r["content_hash"], features_key(Path(r["path"])))
        ins = store.get_inspection(runner.checkpoint_hash, r["content_hash"])
        paths.append(str(explain_into_store(runner, feats, ins, store, settings).relative_to(store.root)))
    return table.assign(explanation=paths)


def load_explanation(path: str | Path) -> Explanation:
    """An explanation record saved by :func:`explain_into_store`.

    The records an Explanation nests (attention curves, token diagnostics, map positions) are
    registered by the modules that define them, which a fresh process may not have imported yet.
    """
    import mmviz.explain.attention  # noqa: F401
    import mmviz.explain.embedding_map  # noqa: F401
    import mmviz.explain.tokens  # noqa: F401

    return load_record(path)
