"""Text-only evaluation: a CSV of transcripts scored like a folder of clips (audio and video absent).

Why: the text path is judged on real human-labelled sentences (e.g. MOSI dev, VADER), which come
as text, not clips. ``mmviz score sentences.csv`` reads columns ``id``, ``text``, ``label``
(other columns are kept in the table but not read by the model), makes one ClipFeatures per row
with no audio and no video, scores it through the same store and writes the same table
(``clip_id``, ``label``, ``pred_fused``, ``pred_text``, ...) as for clips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.data.scoring import prediction_row, score_features
from mmviz.data.store import ResultsStore
from mmviz.errors import DatasetError
from mmviz.inference.runner import ModelRunner
from mmviz.progress import Progress, report
from mmviz.records.features import ClipFeatures, MediaInfo, Word
from mmviz.records.keys import short_hash

REQUIRED = ("id", "text")
WORD_SECONDS = 0.3  # nominal time per word: the words need a clock, nothing reads it for text-only rows


def read_transcripts(path: str | Path) -> pd.DataFrame:
    """The CSV as a table, with a clear message for what is missing or unreadable."""
    p = Path(path)
    try:
        t = pd.read_csv(p, dtype={"id": str})
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DatasetError(f"{p.name} is not a readable CSV file ({e}).", hint="Save it as comma-separated text with a header row.") from e
    missing = [c for c in REQUIRED if c not in t.columns]
    if missing:
        raise DatasetError(f"{p.name} has no column {', '.join(repr(c) for c in missing)} (it has: {', '.join(map(str, t.columns))}).",
                           hint="A transcripts CSV needs the columns id and text, and label for metrics.")
    if t.empty:
        raise DatasetError(f"{p.name} has no rows.", hint="Add one row per transcript.")
    if t["id"].duplicated().any():
        dup = t.loc[t["id"].duplicated(), "id"].iloc[0]
        raise DatasetError(f"{p.name} repeats the id {dup!r}.", hint="Give every row its own id.")
    if "label" in t.columns:
        lab = pd.to_numeric(t["label"], errors="coerce")
        bad = t["label"].notna() & lab.isna()
        if bad.any():
            raise DatasetError(f"{p.name}: label {t.loc[bad, 'label'].iloc[0]!r} (row id {t.loc[bad, 'id'].iloc[0]!r}) is not a number.",
                               hint="Labels are sentiment scores on the model's scale, -3 to 3.")
        t["label"] = lab
    t["text"] = t["text"].fillna("").astype(str)
    return t


def text_features(clip_id: str, text: str) -> ClipFeatures:
    """A transcript alone as ClipFeatures (no audio, no video), keyed by its text."""
    words = text.split()
    ws = tuple(Word(w, i * WORD_SECONDS, (i + 1) * WORD_SECONDS, estimated=True) for i, w in enumerate(words))
    duration = len(words) * WORD_SECONDS
    media = MediaInfo(f"{clip_id}.txt", "text", None, duration, False, False)
    return ClipFeatures(str(clip_id), "text-" + short_hash(text, n=40), None, None, ws, "typed" if words else "none", media, {})


def score_transcripts(path: str | Path, runner: ModelRunner, store: ResultsStore, *, batch_size: int = 32,
                      progress: Progress | None = None) -> pd.DataFrame:
    """One row per transcript with the model's predictions; inspections persisted in ``store``."""
    t = read_transcripts(path)
    feats = [text_features(i, x) for i, x in zip(t["id"], t["text"])]
    rows = []
    for start in range(0, len(feats), batch_size):
        chunk = feats[start : start + batch_size]
        rows += [prediction_row(ins) for ins in score_features(chunk, runner, store, batch_size=batch_size)]
        report(progress, f"{start + len(chunk)}/{len(feats)} transcripts", (start + len(chunk)) / len(feats))
    table = t.rename(columns={"id": "clip_id"}).assign(path="", error="", content_hash=[f.content_hash for f in feats],
                                                       transcript=t["text"], transcript_source="typed", duration=np.nan)
    table = pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    if "label" not in table:
        table["label"] = np.nan
    store.put_dataset(f"{Path(path).stem}-text-{runner.checkpoint_hash}", table)
    return table
