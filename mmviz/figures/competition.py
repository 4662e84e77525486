"""Figures for modality competition, the alignment map and checkpoint comparisons (records in, plotly out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmviz.data.competition import CompetitionReport
from mmviz.explain.alignment_view import AlignmentView

LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=40))
MODALITY_COLORS = {"text": "#4C78A8", "audio": "#F58518", "visual": "#54A24B", "fused": "#B279A2"}
FUSED, REFERENCE = "#B279A2", "#9D9D9D"


def competition_bars(rep: CompetitionReport) -> go.Figure:
    """Probe Acc-2 and head Acc-2 per modality, fused model vs reference; crowded-out modalities marked."""
    mods = list(rep.modalities)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Linear probe of each modality's embedding (Acc-2)",
                                                        "Unimodal heads (Acc-2)"))
    for col, (fused, ref) in enumerate(((rep.probe_fused, rep.probe_reference), (rep.heads_fused, rep.heads_reference)), start=1):
        labels = [m + (" ⚠ crowded out" if col == 1 and m in rep.crowded_out else "") for m in mods]
        fig.add_trace(go.Bar(x=labels, y=[fused.get(m, {}).get("acc2", np.nan) for m in mods], name="inside the fused model",
                             marker_color=FUSED, legendgroup="fused", showlegend=col == 1, texttemplate="%{y:.2f}",
                             textposition="outside", cliponaxis=False), row=1, col=col)
        if rep.has_reference:
            fig.add_trace(go.Bar(x=labels, y=[ref.get(m, {}).get("acc2", np.nan) for m in mods],
                                 name="reference (" + (rep.reference_strategy or "?") + ")", marker_color=REFERENCE,
                                 legendgroup="ref", showlegend=col == 1, texttemplate="%{y:.2f}", textposition="outside",
                                 cliponaxis=False), row=1, col=col)
        fig.add_hline(y=rep.majority, line_dash="dot", line_color="#555", row=1, col=col,
                      annotation_text=f"majority {rep.majority:.2f}", annotation_position="bottom right")
    fig.update_yaxes(range=[0, 1.1], title_text="Acc-2")
    fig.update_layout(**LAYOUT, height=360, barmode="group", legend=dict(orientation="h", y=-0.15))
    return fig


def alignment_map(view: AlignmentView, title: str = "") -> go.Figure:
    """One marker trace per modality (same clip = same ``customdata`` clip id), thin grey lines join a clip's points."""
    n, mods = view.n, view.modalities
    fig = go.Figure()
    xs, ys = [], []
    for i in range(n):  # one polyline per clip through its modalities, broken by None
        for k in range(len(mods)):
            xs.append(view.xy[k * n + i, 0])
            ys.append(view.xy[k * n + i, 1])
        xs.append(None)
        ys.append(None)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="rgba(120,120,120,0.25)", width=1), name="same clip",
                             hoverinfo="skip"))
    for k, m in enumerate(mods):
        sl = slice(k * n, (k + 1) * n)
        fig.add_trace(go.Scatter(x=view.xy[sl, 0], y=view.xy[sl, 1], mode="markers", name=m, customdata=np.array(view.ids)[:, None],
                                 marker=dict(color=MODALITY_COLORS.get(m, "#888"), size=8, line=dict(width=0.6, color="#404040")),
                                 hovertemplate="%{customdata[0]}<extra>" + m + "</extra>"))
    how = "as they are (one width)" if view.projection == "none" else f"projected into the {view.space} space (cross-fitted ridge)"
    fig.update_layout(**LAYOUT, height=420, title=title or f"Modalities of the same clips, {view.method.upper()} ({how})",
                      hovermode="closest", xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False))
    return fig


def shapley_shift_bars(shift: pd.DataFrame) -> go.Figure:
    """Mean |change| of each modality's Shapley value per checkpoint against the baseline."""
    fig = go.Figure()
    for m in ("text", "audio", "visual"):
        s = shift[shift["modality"] == m]
        fig.add_trace(go.Bar(x=s["checkpoint"], y=s["mean |shift|"], name=m, marker_color=MODALITY_COLORS[m],
                             customdata=s["mean shift"], texttemplate="%{y:.3f}", textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: mean |shift| %{y:.3f}, mean shift %{customdata:+.3f}<extra>" + m + "</extra>"))
    fig.update_layout(**LAYOUT, height=320, barmode="group", title="Shapley shift per modality against the baseline",
                      yaxis_title="mean |Δ Shapley|")
    return fig
