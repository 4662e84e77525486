"""The dataset table: one row per scored clip, with every column described once.

Why a schema: pages, maps, slices and reports all read this table, and a column's name is a
promise. ``source`` says where each value comes from, so nothing planted by the demo generator
or produced by a rule is ever shown as the model's own verdict:

- ``model``: computed by the checkpoint;
- ``ground truth``: given with the data (human labels, or the answer the demo generator planted);
- ``rule``: a fixed rule applied to other columns (named as such in the UI);
- ``input``: a property of the clip itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # number | category | bool | text
    source: str  # model | ground truth | rule | input
    title: str  # what the UI calls it
    description: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("clip_id", "text", "input", "clip"),
    Column("path", "text", "input", "file"),
    Column("content_hash", "text", "input", "content hash"),
    Column("label", "number", "ground truth", "label", "sentiment label in [-3, 3] given with the data"),
    Column("pred_fused", "number", "model", "prediction", "the fused head's score in [-3, 3]"),
    Column("pred_text", "number", "model", "text head"),
    Column("pred_audio", "number", "model", "audio head"),
    Column("pred_visual", "number", "model", "visual head"),
    Column("distance_text", "number", "model", "text: distance to training data",
           "how far the transcript lies from the checkpoint's training texts (1 = their farthest 1 %)"),
    Column("distance_audio", "number", "model", "voice: distance to training data",
           "how far the voice lies from the checkpoint's training clips (1 = their farthest 1 %)"),
    Column("distance_visual", "number", "model", "video: distance to training data",
           "how far the face/video lies from the checkpoint's training clips (1 = their farthest 1 %)"),
    Column("pred_class", "category", "model", "predicted class"),
    Column("label_class", "category", "ground truth", "label class"),
    Column("abs_error", "number", "rule", "error", "|prediction − label|"),
    Column("correct", "bool", "rule", "correct", "prediction and label on the same side of 0"),
    Column("shap_text", "number", "model", "text Shapley value",
           "exact Shapley value of the transcript, computed by the model (sentiment points)"),
    Column("shap_audio", "number", "model", "audio Shapley value", "exact Shapley value of the audio, computed by the model"),
    Column("shap_visual", "number", "model", "visual Shapley value", "exact Shapley value of the video, computed by the model"),
    Column("shap_base", "number", "model", "prediction with every modality removed"),
    Column("model_dominant", "category", "model", "dominant modality (model, Shapley)",
           "the modality with the largest |Shapley value| the model computed for this clip"),
    Column("model_conflict", "bool", "model", "modalities conflict (model, Shapley)",
           "one modality's Shapley value is ≥ +0.25 and another's ≤ −0.25 (mmviz.explain.dataset_verdicts)"),
    Column("planted_modality", "category", "ground truth", "planted decisive modality (ground truth)",
           "the modality the demo generator made decisive; empty for real clips"),
    Column("planted_conflict", "bool", "ground truth", "planted conflict (ground truth)",
           "the demo generator planted modalities that disagree"),
    Column("loudest_head", "category", "rule", "largest unimodal head (rule)",
           "the unimodal head with the largest |score|: a rule over the heads, not an explanation"),
    Column("heads_disagree", "bool", "rule", "unimodal heads disagree (rule)",
           "one unimodal head says ≥ +0.5 and another ≤ −0.5"),
    Column("length", "category", "input", "length"),
    Column("face", "category", "input", "face visible"),
    Column("duration", "number", "input", "duration (s)"),
    Column("transcript_source", "category", "input", "transcript source"),
)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
REQUIRED = ("clip_id", "pred_fused", "pred_text", "pred_audio", "pred_visual", "label")


def column(name: str) -> Column:
    """The description of a table column (map coordinates ``x_<space>``/``y_<space>`` included)."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name[:2] in ("x_", "y_"):
        return Column(name, "number", "model", f"map {name[0]} ({name[2:]} embedding)")
    return Column(name, "text", "input", name.replace("_", " "))


def slice_columns(table: pd.DataFrame) -> list[str]:
    """Category and bool columns present in ``table`` that a page can slice or colour by."""
    return [c.name for c in COLUMNS if c.kind in ("category", "bool") and c.name in table.columns
            and table[c.name].astype(str).replace({"": None, "nan": None}).notna().any()]


def check_table(table: pd.DataFrame) -> pd.DataFrame:
    """Raise a clear error if a required column is missing; returns the table unchanged."""
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        from mmviz.errors import DatasetError

        raise DatasetError(f"The dataset table lacks the column(s) {', '.join(missing)}.", hint="Score the dataset again.")
    return table
