"""Figures about a scored dataset table (one row per clip): map, confusion, slices, robustness."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from mmviz.data.table import column

LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=40))
COLOR_BY = {"label": "label", "prediction": "pred_fused", "error": "abs_error", "correct": "correct",
            "dominant modality (model, Shapley)": "model_dominant", "modalities conflict (model, Shapley)": "model_conflict",
            "planted decisive modality (ground truth)": "planted_modality", "planted conflict (ground truth)": "planted_conflict",
            "largest unimodal head (rule)": "loudest_head", "unimodal heads disagree (rule)": "heads_disagree"}


#: red (negative) → grey (neutral) → blue (positive). Why not plotly's RdBu: its middle is near-white, so
#: neutral clips vanish on the white background; a mid grey and a dark outline keep every point visible.
DIVERGING = [[0.0, "#b2182b"], [0.25, "#e7826a"], [0.5, "#a3a3a3"], [0.75, "#6fa3cf"], [1.0, "#2166ac"]]
MARKER_LINE = dict(width=0.8, color="#404040")
MODALITY_COLORS = {"text": "#4C78A8", "audio": "#F58518", "visual": "#54A24B", "none": "#9E9E9E", "": "#9E9E9E"}
#: how a drag on the map selects (Streamlit turns click-selection off while dragmode is "select" or "lasso",
#: so a single click can select a point only in "click" mode, where a drag pans the map)
SELECT_MODES = {"click": "pan", "box": "select", "lasso": "lasso"}
_CATEGORIES = ("correct", "planted_modality", "planted_conflict", "loudest_head", "heads_disagree", "model_dominant",
               "model_conflict")


def dataset_map(table: pd.DataFrame, color_by: str = "label", highlight: tuple[float, float] | None = None,
                highlight_name: str = "this clip", space: str = "fused", select: str = "click") -> go.Figure:
    """t-SNE map of one embedding space (``x_<space>``, ``y_<space>`` columns); one point per clip,
    ``customdata`` = row index, so a selection maps back to table rows. ``select``: "click" (a click
    selects one point, shift-click adds), "box" or "lasso" (a drag selects; see ``SELECT_MODES``)."""
    col = COLOR_BY.get(color_by, color_by)
    t = table.reset_index(drop=True).copy()
    t["row"] = np.arange(len(t))
    xs, ys = f"x_{space}", f"y_{space}"
    if xs not in t or t[xs].isna().all():
        fig = go.Figure()
        fig.add_annotation(text=f"No {space} map for this dataset (it needs at least 5 clips with that modality).",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(**LAYOUT, height=480, xaxis=dict(visible=False), yaxis=dict(visible=False))
        return fig
    t["x"], t["y"] = t[xs], t[ys]
    t["name"] = t["clip_id"].astype(str).map(html.escape)
    if col not in t:
        col = "label"
    if col in _CATEGORIES:
        t[col] = t[col].astype(str)
    fig = px.scatter(t, x="x", y="y", color=col, custom_data=["row"], hover_name="name",
                     hover_data={"x": False, "y": False, "label": ":.2f", "pred_fused": ":.2f"},
                     color_continuous_scale=DIVERGING if col != "abs_error" else "Reds",
                     color_discrete_map=MODALITY_COLORS if col.endswith(("modality", "head", "dominant")) else None,
                     range_color=(-3, 3) if col in ("label", "pred_fused") else None)
    fig.update_traces(marker=dict(size=11, line=MARKER_LINE))
    if highlight is not None:
        fig.add_trace(go.Scatter(x=[highlight[0]], y=[highlight[1]], mode="markers+text", text=[html.escape(highlight_name)],
                                 textposition="top center", marker=dict(symbol="star", size=20, color="gold", line=dict(width=1, color="black")),
                                 name=html.escape(highlight_name), hoverinfo="skip"))
    fig.update_layout(**LAYOUT, height=480, title=f"Dataset map (t-SNE of {space} embeddings), coloured by {color_by}",
                      xaxis=dict(showticklabels=False, title=""), yaxis=dict(showticklabels=False, title=""),
                      dragmode=SELECT_MODES.get(select, "pan"), clickmode="event+select")
    return fig


def confusion_matrix(table: pd.DataFrame, n_classes: int = 2) -> go.Figure:
    lab = pd.to_numeric(table["label"], errors="coerce")
    ok = lab.notna()
    p, y = table.loc[ok, "pred_fused"].to_numpy(float), lab[ok].to_numpy(float)
    if n_classes == 2:
        names = ["negative", "positive"]
        pi, yi = (p >= 0).astype(int), (y >= 0).astype(int)
    else:
        names = [str(k) for k in range(-3, 4)]
        pi, yi = (np.clip(np.round(p), -3, 3) + 3).astype(int), (np.clip(np.round(y), -3, 3) + 3).astype(int)
    k = len(names)
    m = np.zeros((k, k), dtype=int)
    for a, b in zip(yi, pi):
        m[a, b] += 1
    fig = go.Figure(go.Heatmap(z=m, x=names, y=names, colorscale="Blues", text=m, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(**LAYOUT, height=320 if k == 2 else 420, title=f"Confusion matrix ({k} classes)",
                      xaxis_title="predicted", yaxis=dict(title="true", autorange="reversed"))
    return fig


def slice_accuracy(table: pd.DataFrame, by: str) -> go.Figure:
    """Acc-2 of the fused prediction and of each unimodal head, per value of ``by``."""
    lab = pd.to_numeric(table["label"], errors="coerce")
    t = table[lab.notna()].copy()
    t["_y"] = lab[lab.notna()] >= 0
    rows = []
    for val, g in t.groupby(t[by].astype(str)):
        for head in ("fused", "text", "audio", "visual"):
            rows.append({"slice": f"{val} (n={len(g)})", "head": head, "acc2": float(((g[f"pred_{head}"] >= 0) == g["_y"]).mean())})
    d = pd.DataFrame(rows, columns=["slice", "head", "acc2"])
    fig = px.bar(d, x="slice", y="acc2", color="head", barmode="group",
                 color_discrete_map={"fused": "#B279A2", "text": "#4C78A8", "audio": "#F58518", "visual": "#54A24B"})
    fig.update_layout(**LAYOUT, height=340, title=f"Acc-2 per slice: {column(by).title} (fused vs unimodal heads)",
                      yaxis=dict(range=[0, 1], title="Acc-2"))
    return fig


def robustness_curve(df: pd.DataFrame) -> go.Figure:
    fig = px.line(df, x="removed", y="acc2", color="modality", markers=True,
                  color_discrete_map={"text": "#4C78A8", "audio": "#F58518", "visual": "#54A24B"})
    fig.update_layout(**LAYOUT, height=340, title="Robustness: Acc-2 as a share of one modality is removed",
                      xaxis=dict(tickformat=".0%", title="share removed"), yaxis=dict(range=[0, 1], title="Acc-2"))
    return fig


def compare_bars(a: dict, b: dict, name_a: str, name_b: str, title: str = "Comparison") -> go.Figure:
    keys = [k for k in a if k in b]
    fig = go.Figure([go.Bar(x=keys, y=[a[k] for k in keys], name=html.escape(name_a)),
                     go.Bar(x=keys, y=[b[k] for k in keys], name=html.escape(name_b))])
    fig.update_layout(**LAYOUT, height=320, barmode="group", title=title)
    return fig


def demo_overview(table: pd.DataFrame) -> go.Figure:
    """How many demo clips each modality decides, split by scenario: what an analyst can expect
    to find before opening one (the answers are planted, see ``mmviz.demo.label``)."""
    order = ["text", "audio", "visual", "none"]
    t = table.assign(decisive=table.get("decisive_modality", pd.Series(["none"] * len(table))).fillna("none").astype(str),
                     scenario=table.get("scenario", pd.Series(["?"] * len(table))).fillna("?").astype(str))
    counts = t.groupby(["decisive", "scenario"]).size().reset_index(name="clips")
    fig = px.bar(counts, x="decisive", y="clips", color="scenario", category_orders={"decisive": order},
                 labels={"decisive": "decisive modality (planted)", "clips": "demo clips"})
    fig.update_layout(**LAYOUT, height=260, title="The demo set: which modality decides each clip")
    return fig


def verdict_shares(table: pd.DataFrame) -> go.Figure:
    """Share of clips each modality dominates: the model's Shapley verdict, with the planted answer
    (ground truth, demo set only) and the loudest-head rule beside it, each named for what it is."""
    order = ["text", "audio", "visual", "none"]
    sources = [("model_dominant", "model (Shapley)"), ("planted_modality", "planted (ground truth)"),
               ("loudest_head", "largest unimodal head (rule)")]
    rows = []
    for colname, who in sources:
        if colname not in table or table[colname].astype(str).replace({"": None, "nan": None}).isna().all():
            continue
        v = table[colname].astype(str).replace({"": "none", "nan": "none"})
        rows += [{"modality": m, "share": float((v == m).mean()), "n": int((v == m).sum()), "who": who} for m in order]
    d = pd.DataFrame(rows, columns=["modality", "share", "n", "who"])
    fig = px.bar(d, x="modality", y="share", color="who", barmode="group", text="n", category_orders={"modality": order},
                 color_discrete_sequence=["#B279A2", "#BAB0AC", "#72B7B2"])
    fig.update_layout(**LAYOUT, height=320, title="Which modality decides: share of clips", yaxis=dict(range=[0, 1], tickformat=".0%"),
                      legend_title_text="")
    return fig


def error_by_verdict(table: pd.DataFrame) -> go.Figure:
    """Error rate (1 − Acc-2) of the fused prediction among clips of each model verdict (labelled clips)."""
    from mmviz.explain.dataset_verdicts import summarise

    s = summarise(table["model_dominant"].astype(str), table["model_conflict"].astype(bool),
                  correct=pd.to_numeric(table["correct"], errors="coerce"))
    items = [(f"dominant: {m}", *s["error_by_dominant"][m]) for m in ("text", "audio", "visual", "none")]
    items += [(k, *s["error_by_conflict"][k]) for k in ("conflict", "no conflict")]
    items = [(k, e, n) for k, e, n in items if n > 0]
    fig = go.Figure(go.Bar(x=[k for k, _, _ in items], y=[e for _, e, _ in items], marker_color="#B279A2",
                           text=[f"{e:.0%} (n={n})" for _, e, n in items], textposition="outside"))
    fig.update_layout(**LAYOUT, height=320, title="Error rate by the model's verdict (Shapley)",
                      yaxis=dict(range=[0, 1.1], tickformat=".0%", title="error rate (1 − Acc-2)"))
    return fig
