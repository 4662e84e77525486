"""One chart with every checkpoint's robustness curves (from RobustnessCurves records only).

Colour = checkpoint (or strategy), dash = modality; the left panel is Acc-2, the right MAE.
The x axis is categorical: the clean clip (σ = 0), growing noise, then "removed" (the
explainers' removal), so the worst case sits at the right end of every line.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from mmviz.data.robustness import RobustnessCurves
from mmviz.errors import MmvizError

DASH = {"text": "solid", "audio": "dash", "visual": "dot"}
PANELS = (("Has0_acc_2", "Acc-2 (has-zero)"), ("MAE", "MAE"))


def robustness_chart(curves: Sequence[RobustnessCurves], height: int = 420) -> go.Figure:
    """Acc-2 and MAE of each checkpoint as each modality is corrupted with growing noise, then removed."""
    curves = list(curves)
    if not curves:
        raise MmvizError("There are no robustness curves to draw.", hint="Compute them for at least one checkpoint.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t for _, t in PANELS], horizontal_spacing=0.1)
    palette = qualitative.Plotly
    cats: list[str] = []
    for ci, rec in enumerate(curves):
        color = palette[ci % len(palette)]
        frame = rec.to_frame()
        for m in rec.modalities:
            part = frame[frame["modality"] == m]
            x = ["σ=" + c if c != "removed" else c for c in part["condition"]]
            cats += [c for c in x if c not in cats]
            for col, (key, title) in enumerate(PANELS, start=1):
                fig.add_trace(go.Scatter(
                    x=x, y=part[key], mode="lines+markers", line=dict(color=color, dash=DASH.get(m, "solid")),
                    name=f"{html.escape(rec.name)} · {m}", legendgroup=f"{ci}-{m}", showlegend=col == 1,
                    hovertemplate=f"{html.escape(rec.name)} ({html.escape(rec.strategy)}), {m}<br>%{{x}}: {title} %{{y:.3f}}"
                                  f"<br>n={rec.n_clips}<extra></extra>"), row=1, col=col)
    order = sorted((c for c in cats if c != "removed"), key=lambda c: float(c[2:])) + ["removed"]
    for col in (1, 2):
        fig.update_xaxes(categoryorder="array", categoryarray=order, title_text="noise level (σ; text: share of words dropped)",
                         row=1, col=col)
    fig.update_yaxes(range=[0, 1], title_text="Acc-2", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", title_text="MAE", row=1, col=2)
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=60, r=20, t=60, b=40),
                      title="Robustness: fused quality as each modality is corrupted, then removed",
                      legend=dict(title="checkpoint · modality", groupclick="toggleitem"))
    return fig
