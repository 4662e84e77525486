"""Figures about one clip: prediction, timeline, attention, fusion tokens, contributions.

Pure builders: records in (ClipFeatures, Inspection, and the explainer's own Explanation
records), Plotly figure out. Nothing here recomputes what ``mmviz.explain`` computed: attention
curves, key order and labels come from its AttentionCurves record, token shares from its
TokenDiagnostics record.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmviz.explain.attention import AttentionCurves
from mmviz.explain.record import Counterfactuals, CounterfactualResult, Explanation
from mmviz.inference.record import Inspection
from mmviz.records.features import ClipFeatures
from mmviz.records.modalities import MODALITIES, TIME_MODALITIES

COLORS = {"text": "#4C78A8", "audio": "#F58518", "visual": "#54A24B", "fused": "#B279A2", "null": "#9D9D9D"}
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=40, b=40))


def prediction_bars(ins: Inspection) -> go.Figure:
    """Fused and unimodal head scores on the [-3, 3] sentiment scale."""
    p = ins.predictions
    names = ["fused", "text", "audio", "visual"]
    vals = [p.fused, p.text, p.audio, p.visual]
    fig = go.Figure(go.Bar(x=vals, y=names, orientation="h", marker_color=[COLORS[n] for n in names],
                           text=[f"{v:+.2f}" for v in vals], textposition="outside"))
    fig.update_layout(**LAYOUT, height=220, title="Scores (−3 negative … +3 positive)",
                      xaxis=dict(range=[-3.2, 3.2], zeroline=True, zerolinewidth=2), yaxis=dict(autorange="reversed"))
    return fig


def _col(feats: ClipFeatures, which: str, names: tuple[str, ...]):
    tm = getattr(feats, which)
    if tm is None:
        return None
    for n in names:
        if n in tm.names:
            return tm.times, tm.column(n), n
    return None


def timeline(feats: ClipFeatures, expl: Explanation, *, decisive_span: tuple[float, float] | None = None,
             cursor: float | None = None, font_size: int | None = None) -> go.Figure:
    """Stacked tracks on the clip's clock: loudness, pitch, face, words, attribution and attention per modality.

    decisive_span: planted ground truth of a demo clip (drawn and labelled as "planted").
    font_size: larger text for presentation mode (tracks grow with it). Word labels alternate
        above and below their marker so neighbouring words never run together.
    """
    tracks = []
    loud = _col(feats, "audio", ("rms_db", "loudness_db", "loudness", "rms"))
    pitch = _col(feats, "audio", ("pitch_hz", "f0_hz", "pitch"))
    face = _col(feats, "visual", ("face_present", "face"))
    for t in (loud, pitch, face):
        if t is not None:
            tracks.append(("line", t[2], t[0], t[1]))
    tracks.append(("words", "transcript", None, None))
    for sa in (expl.time_attributions or ()):
        if len(sa.times):
            tracks.append(("attr", f"{sa.modality} attribution", sa.times, sa.values, sa.modality))
    att = expl.attention
    for m in TIME_MODALITIES if att is not None else ():
        times, mass = att.curve(m)
        if len(times):
            tracks.append(("attr", f"{m} attention", times, mass, m))
    wa = expl.word_attributions
    n = len(tracks)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.025, subplot_titles=[t[1] for t in tracks])
    for i, tr in enumerate(tracks, start=1):
        if tr[0] == "line":
            fig.add_trace(go.Scatter(x=tr[2], y=tr[3], mode="lines+markers", marker=dict(size=3), name=tr[1],
                                     line=dict(color="#555"), hovertemplate="%{x:.2f} s: %{y:.2f}<extra></extra>"), row=i, col=1)
        elif tr[0] == "words":
            ws = feats.words
            mids = [(w.start + w.end) / 2 for w in ws]
            scores = np.asarray(wa.scores) if wa is not None and len(wa.scores) == len(ws) else np.zeros(len(ws))
            fig.add_trace(go.Scatter(
                x=mids, y=[0] * len(ws), mode="markers+text", text=[html.escape(w.text) for w in ws],
                textposition=["top center" if k % 2 == 0 else "bottom center" for k in range(len(ws))],
                marker=dict(size=10, color=scores, colorscale="RdBu", cmid=0, symbol=["circle-open" if w.estimated else "circle" for w in ws]),
                customdata=[[w.start, w.end] for w in ws], name="words",
                hovertemplate="%{text}<br>%{customdata[0]:.2f}–%{customdata[1]:.2f} s<extra></extra>"), row=i, col=1)
            fig.update_yaxes(visible=False, range=[-1.5, 1.5], row=i, col=1)
        else:
            fig.add_trace(go.Bar(x=tr[2], y=tr[3], name=tr[1], marker_color=COLORS.get(tr[4], "#888"),
                                 hovertemplate="%{x:.2f} s: %{y:.3f}<extra></extra>"), row=i, col=1)
    if decisive_span is not None and all(np.isfinite(decisive_span)):
        fig.add_vrect(x0=decisive_span[0], x1=decisive_span[1], fillcolor="gold", opacity=0.25, line_width=0,
                      annotation_text="planted decisive span", annotation_position="top left", row="all", col=1)
    if cursor is not None:
        fig.add_vline(x=cursor, line_color="red", line_dash="dot")
    scale = (font_size or 12) / 12
    fig.update_layout(**LAYOUT, height=int((110 * n + 60) * scale), showlegend=False, clickmode="event+select", bargap=0)
    if font_size:
        fig.update_layout(font=dict(size=font_size))
    fig.update_xaxes(title_text="clip time (s)", range=[0, max(feats.duration, 0.1)], row=n, col=1)
    fig.update_annotations(font_size=int(11 * scale))
    return fig


def attention_heatmap(att: AttentionCurves | None, block: int = 0, head: int | None = None) -> go.Figure:
    """Cross-attention of fusion tokens (rows) over keys (columns: null, audio steps, visual steps, in time order).

    att: the explainer's AttentionCurves record (``Explanation.attention``).
    """
    if att is None:
        return _empty("No attention was recorded for this clip.")
    z = att.heatmap(block, head)  # (N, K), keys already sorted by the explainer
    fig = go.Figure(go.Heatmap(z=z, x=list(att.key_labels), y=[f"token {i}" for i in range(z.shape[0])],
                               colorscale="Viridis", colorbar=dict(title="weight"),
                               hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>"))
    title = f"Block {block} (after LM layer {att.block_layers[block]}), {'mean over heads' if head is None else f'head {head}'}"
    fig.update_layout(**LAYOUT, height=120 + 40 * z.shape[0], title=title, xaxis=dict(title="keys (A = audio, V = visual)", tickangle=-60))
    return fig


def _empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(**LAYOUT, height=160, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def fusion_gates(ins: Inspection) -> go.Figure:
    """The gates of each fusion block: constants of the checkpoint (compare two checkpoints with it, not two clips)."""
    g = ins.gates  # (n_blocks, 2)
    blocks = [f"block {b} (L{ins.block_layers[b]})" for b in range(g.shape[0])]
    bar = dict(texttemplate="%{y:.3f}", textposition="outside", cliponaxis=False)
    fig = go.Figure([go.Bar(x=blocks, y=g[:, 0], name="cross-attention gate", **bar),
                     go.Bar(x=blocks, y=g[:, 1], name="feed-forward gate", **bar)])
    fig.update_layout(**LAYOUT, height=280, title="Gates per fusion block (model constants, the same on every clip)",
                      yaxis=dict(range=[0, 1.1], title="sigmoid gate"), barmode="group")
    return fig


def gate_caption(ins: Inspection) -> str:
    """One sentence stating the gates once, as what they are: constants of the checkpoint."""
    g = np.asarray(ins.gates, dtype=np.float64).reshape(-1, 2)
    if not g.size:
        return "This model has no fusion blocks."
    return (f"Gates are constants of this checkpoint (the same on every clip): cross-attention {g[:, 0].min():.3f}–"
            f"{g[:, 0].max():.3f}, feed-forward {g[:, 1].min():.3f}–{g[:, 1].max():.3f} over {len(g)} blocks.")


def token_norms(ins: Inspection) -> go.Figure:
    """Raw hidden-state norms per layer (reference only: the final RMS norm rescales every token before the heads)."""
    norms = np.linalg.norm(ins.token_states, axis=-1)  # (L+1, N)
    fig = go.Figure([go.Scatter(x=list(range(norms.shape[0])), y=norms[:, n], mode="lines+markers", name=f"token {n}")
                     for n in range(norms.shape[1])])
    for b in ins.block_layers:
        fig.add_vline(x=b + 1, line_dash="dot", line_color="#bbb")
    fig.update_layout(**LAYOUT, height=280, title="Token norm per layer (not a contribution: rescaled before the heads)",
                      xaxis_title="layer (0 = embedding)", yaxis_title="‖h‖")
    return fig


def block_update_bars(expl: Explanation) -> go.Figure:
    """How much each fusion block changed the fusion tokens on this clip (the model's own record), numbered."""
    tok = expl.token_diagnostics
    mean = tok.block_update_mean() if tok is not None else None
    if mean is None:
        return _empty(("This stored result was computed before the model recorded its per-clip block updates; clips scored from "
                      "now on have them (clear the results cache to recompute stored ones)."))
    upd = np.asarray(tok.block_update, dtype=np.float64)  # (n_blocks, N, 2)
    blocks = [f"block {b} (L{tok.block_layers[b]})" for b in range(mean.shape[0])]
    fig = go.Figure()
    for j, (name, color) in enumerate((("cross-attention", COLORS["audio"]), ("feed-forward", "#72B7B2"))):
        fig.add_trace(go.Bar(x=blocks, y=mean[:, j], name=name, marker_color=color,
                             customdata=upd[:, :, j].max(1), texttemplate="%{y:.3f}", textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: mean %{y:.4f}, largest token %{customdata:.4f}<extra>" + name + "</extra>"))
    top = float(mean.max()) if mean.size else 1.0
    fig.update_layout(**LAYOUT, height=300, barmode="group", title="Change each block made on this clip",
                      yaxis=dict(title="‖gated update‖ / ‖residual‖ (mean over tokens)", range=[0, 1.25 * max(top, 1e-6)]),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def token_prediction_bars(expl: Explanation, dead: tuple[int, ...] = ()) -> go.Figure:
    """Each fusion token's own score (per-token head) beside the fused score, numbered; dead tokens greyed."""
    tok = expl.token_diagnostics
    if tok is None or tok.token_predictions is None:
        return _empty(("This stored result was computed before per-token scores were kept; clips scored from now on have them "
                      "(clear the results cache to recompute stored ones)."))
    v = np.asarray(tok.token_predictions, dtype=np.float64)
    names = [f"t{n}" + (" †" if n in dead else "") for n in range(len(v))]
    colors = [COLORS["null"] if n in dead else (COLORS["text"] if x >= 0 else "#B2182B") for n, x in enumerate(v)]
    fig = go.Figure(go.Bar(x=names, y=v, marker_color=colors, texttemplate="%{y:+.2f}", textposition="outside",
                           cliponaxis=False, hovertemplate="token %{x}: %{y:+.3f}<extra>per-token head</extra>"))
    if tok.fused_prediction is not None:
        fig.add_hline(y=tok.fused_prediction, line_dash="dot", line_color=COLORS["fused"],
                      annotation_text=f"fused {tok.fused_prediction:+.2f}", annotation_position="top left")
    lo, hi = min(0.0, float(v.min()), tok.fused_prediction or 0.0), max(0.0, float(v.max()), tok.fused_prediction or 0.0)
    pad = 0.25 * max(hi - lo, 0.1)
    fig.update_layout(**LAYOUT, height=300, title="What each fusion token says (per-token head)" + (" · † dead" if dead else ""),
                      yaxis=dict(title="score (−3 … +3)", range=[lo - pad, hi + pad], zeroline=True))
    return fig


def attention_block_share(expl: Explanation) -> go.Figure:
    """Share of the fusion tokens' attention on null / audio / visual keys in each block, numbered."""
    tok = expl.token_diagnostics
    if tok is None:
        return _empty("No fusion-token diagnostics for this clip.")
    share = tok.block_share()  # (n_blocks, 3)
    blocks = [f"block {b} (L{tok.block_layers[b]})" for b in range(share.shape[0])]
    fig = go.Figure([go.Bar(x=blocks, y=share[:, j], name=m, marker_color=COLORS[m], texttemplate="%{y:.2f}",
                            textposition="inside", insidetextanchor="middle")
                     for j, m in enumerate(tok.modality_names)])
    fig.update_layout(**LAYOUT, height=300, barmode="stack", title="Attention by modality, per block",
                      yaxis=dict(range=[0, 1], title="share of attention"), legend=dict(orientation="h", y=-0.2))
    return fig


def attention_time_share(expl: Explanation) -> go.Figure:
    """Share of all attention on audio and visual keys per stretch of the clip, numbered."""
    tok = expl.token_diagnostics
    if tok is None or tok.time_share is None or not len(tok.time_share):
        return _empty("No audio or visual keys: the tokens could only read the null key.")
    e = np.asarray(tok.time_bin_edges, dtype=np.float64)
    share = np.asarray(tok.time_share, dtype=np.float64)  # (n_bins, 2)
    labels = [f"{a:g}–{b:g} s" for a, b in zip(e[:-1], e[1:])]
    fig = go.Figure([go.Bar(x=labels, y=share[:, j], name=m, marker_color=COLORS[m], texttemplate="%{y:.2f}",
                            textposition="outside", cliponaxis=False) for j, m in enumerate(("audio", "visual"))])
    top = float(share.max()) if share.size else 1.0
    fig.update_layout(**LAYOUT, height=300, barmode="group", title="Attention over time (share of all attention)",
                      yaxis=dict(range=[0, 1.25 * max(top, 1e-6)], title="share"), legend=dict(orientation="h", y=-0.25))
    return fig


def attention_attribution_agreement(expl: Explanation) -> go.Figure:
    """Spearman correlation of attention over time with |time attribution|, per modality, numbered."""
    corr = expl.attention_vs_attribution or {}
    mods = [m for m in TIME_MODALITIES if m in corr]
    if not mods:
        return _empty("No time attribution to compare attention with.")
    vals = [float(corr[m]) for m in mods]
    ok = [np.isfinite(v) for v in vals]
    fig = go.Figure(go.Bar(x=mods, y=[v if k else 0.0 for v, k in zip(vals, ok)], marker_color=[COLORS[m] for m in mods],
                           text=[f"{v:+.2f}" if k else "undefined" for v, k in zip(vals, ok)], textposition="outside",
                           cliponaxis=False, hovertemplate="%{x}: Spearman %{text}<extra></extra>"))
    fig.update_layout(**LAYOUT, height=300, title="Does attention follow the attribution? (Spearman ρ)",
                      yaxis=dict(range=[-1.15, 1.15], title="ρ over time steps", zeroline=True, zerolinewidth=2))
    return fig


def token_similarity(expl: Explanation) -> go.Figure:
    """Cosine similarity of the fusion tokens' last-layer states (copies waste capacity), every cell numbered."""
    tok = expl.token_diagnostics
    if tok is None:
        return _empty("No fusion-token diagnostics for this clip.")
    sim = np.asarray(tok.similarity, dtype=np.float64)
    names = [f"t{n}" for n in range(sim.shape[0])]
    fig = go.Figure(go.Heatmap(z=sim, x=names, y=names, zmin=-1, zmax=1, colorscale="RdBu", texttemplate="%{z:.2f}",
                               textfont=dict(size=9), colorbar=dict(title="cos"),
                               hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(**LAYOUT, height=120 + 24 * sim.shape[0], title="Token similarity (last layer)",
                      yaxis=dict(autorange="reversed"))
    return fig


def dead_token_bars(report) -> go.Figure:
    """Across a dataset: each token's largest audio+visual attention share, the threshold, dead tokens marked."""
    if report is None:
        return _empty("No scored dataset with this checkpoint: dead tokens need the dataset's inspections.")
    v = np.asarray(report.av_share_max, dtype=np.float64)
    dead = np.asarray(report.dead, dtype=bool)
    names = [f"t{n}" for n in range(len(v))]
    fig = go.Figure(go.Bar(x=names, y=v, marker_color=[COLORS["null"] if d else COLORS["visual"] for d in dead],
                           customdata=np.asarray(report.used_in), texttemplate="%{y:.2f}", textposition="outside",
                           cliponaxis=False,
                           hovertemplate="token %{x}: largest A+V share %{y:.3f}, used in %{customdata} clips<extra></extra>"))
    fig.add_hline(y=report.threshold, line_dash="dot", line_color="#B2182B",
                  annotation_text=f"used at ≥ {report.threshold:g}", annotation_position="top left")
    fig.update_layout(**LAYOUT, height=300, title=f"Dead tokens across {report.n_clips} clips: {len(report.dead_tokens)} (grey)",
                      yaxis=dict(range=[0, min(1.15, 1.25 * max(float(v.max()) if v.size else 0.0, report.threshold) + 0.02)],
                                 title="largest audio+visual share"))
    return fig


def token_modality_share(expl: Explanation) -> go.Figure:
    """Share of each fusion token's attention on null / audio / visual keys (the explainer's TokenDiagnostics), numbered."""
    tok = expl.token_diagnostics
    if tok is None:
        return _empty("No fusion-token diagnostics for this clip.")
    share = np.asarray(tok.attention_share_overall)  # (N, 3), columns tok.modality_names
    fig = go.Figure()
    for j, m in enumerate(tok.modality_names):
        fig.add_trace(go.Bar(x=[f"t{n}" for n in range(share.shape[0])], y=share[:, j], name=m, marker_color=COLORS[m],
                             texttemplate="%{y:.2f}", textposition="inside", textfont=dict(size=9)))
    fig.update_layout(**LAYOUT, height=300, barmode="stack", title="Attention share per token (mean over blocks)",
                      yaxis=dict(range=[0, 1]), legend=dict(orientation="h", y=-0.2))
    return fig


def contribution_bars(expl: Explanation) -> go.Figure:
    """Shapley contribution per modality; the interaction apart from them; integrated gradients beside.

    The three Shapley bars add up to f(all) - f(none) (the title says so); the interaction is
    *not* a fourth part of that sum (it is what the modalities do together beyond each one
    alone, already shared out inside the Shapley values), so it has its own panel and axis.
    Every bar carries its number.
    """
    sh, ig = expl.shapley, expl.integrated_gradients
    if sh is None:
        return _empty("Shapley values were not computed for this clip.")
    from mmviz.explain.verdict import interaction_kind

    mods = list(MODALITIES)
    vals = [sh.values.get(m, 0.0) for m in mods]
    kind = interaction_kind(sh.values, sh.interaction) or "small"
    titles = ["① Shapley (sum = full − base)", f"② Interaction: {kind}"]
    widths = [0.42, 0.2]
    if ig is not None:
        titles.append(f"③ Integrated gradients (δ {ig.delta:.2g})")
        widths.append(0.38)
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, column_widths=widths, horizontal_spacing=0.1)
    bar = dict(orientation="h", textposition="outside", cliponaxis=False)
    fig.add_trace(go.Bar(x=vals, y=mods, marker_color=[COLORS[m] for m in mods], text=[f"{v:+.3f}" for v in vals],
                         name="Shapley", hovertemplate="%{y}: %{x:+.3f}<extra>Shapley</extra>", **bar), row=1, col=1)
    fig.add_trace(go.Bar(x=[sh.interaction], y=["together"], marker=dict(color="#BBBBBB", pattern_shape="/"),
                         text=[f"{sh.interaction:+.3f}"], name="interaction",
                         hovertemplate="interaction %{x:+.3f}<extra>f(all) − f(none) − Σ single effects</extra>", **bar),
                  row=1, col=2)
    panels = [(1, vals), (2, [sh.interaction])]
    if ig is not None:
        iv = [ig.totals.get(m, 0.0) for m in mods]  # a path that was not run draws no bar and says so
        fig.add_trace(go.Bar(x=iv, y=mods, marker_color=[COLORS[m] for m in mods],
                             text=[f"{v:+.3f}" if m in ig.totals else "not run" for m, v in zip(mods, iv)],
                             name="integrated gradients", hovertemplate="%{y}: %{x:+.3f}<extra>integrated gradients</extra>",
                             **bar), row=1, col=3)
        panels.append((3, iv))
    for col, v in panels:  # room for the numbers outside the bars, zero always in view
        lo, hi = min(0.0, *v), max(0.0, *v)
        pad = 0.35 * max(hi - lo, 1e-3)
        fig.update_xaxes(range=[lo - (pad if lo < 0 else 0.1 * pad), hi + (pad if hi > 0 else 0.1 * pad)],
                         zeroline=True, zerolinewidth=2, row=1, col=col)
    fig.update_xaxes(title_text="not part of the sum", title_font_size=11, row=1, col=2)
    fig.update_layout(**{**LAYOUT, "margin": dict(l=60, r=30, t=80, b=40)}, height=300, showlegend=False,
                      title=f"Modality contributions: base {sh.base:+.2f} + Σ Shapley {sum(vals):+.2f} = full {sh.full:+.2f}")
    fig.update_yaxes(autorange="reversed")
    fig.update_annotations(font_size=12)
    return fig


SCALE = (-3.0, 3.0)  # the sentiment scale every prediction of the model lies on


def unique_counterfactuals(cfs) -> list[CounterfactualResult]:
    """The counterfactuals in order with repeats left out (same kind, same details: the same question)."""
    seen, out = set(), []
    for c in cfs:
        key = (c.kind, c.name, repr(sorted((c.details or {}).items())))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def counterfactual_bars(original: float, cfs: Counterfactuals | tuple[CounterfactualResult, ...] | list) -> go.Figure:
    """The fused prediction of the clip as it is and of each changed input, one numbered bar each.

    Why numbered, deduplicated and on a fixed axis: the chart is built up by clicks; every bar
    must name what was done to the input, a repeated click must not add (or stack) a second bar,
    and the axis is the model's sentiment scale so bars stay comparable as the list grows.
    """
    cfs = unique_counterfactuals(cfs)
    names = ["original clip"] + [f"{i}. {c.name}" for i, c in enumerate(cfs, start=1)]
    vals = [float(original)] + [float(c.fused) for c in cfs]
    text = [f"{original:+.2f}"] + [f"{c.fused:+.2f} (Δ {c.delta:+.2f})" for c in cfs]
    lo, hi = SCALE
    fig = go.Figure(go.Bar(x=[min(max(v, lo), hi) for v in vals], y=[html.escape(n) for n in names], orientation="h",
                           marker_color=["#B279A2"] + ["#72B7B2"] * len(cfs), text=text, textposition="outside",
                           cliponaxis=False, customdata=vals, hovertemplate="%{y}: %{customdata:+.3f}<extra></extra>"))
    fig.add_vline(x=float(original), line_dash="dot", line_color="#B279A2")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=20, r=90, t=40, b=40)}, height=120 + 32 * len(names),
                      title="Counterfactual predictions (fused score; dotted line: the original clip)", barmode="group",
                      xaxis=dict(range=[lo - 0.2, hi + 0.2], fixedrange=True, zeroline=True, zerolinewidth=2,
                                 title="fused score (−3 negative … +3 positive)"),
                      yaxis=dict(autorange="reversed", automargin=True, type="category"))
    return fig


def word_attribution_html(words, scores, errors=None) -> str:
    """Transcript words coloured by attribution (red = pushes negative, blue = positive). Every word is escaped.

    errors: optional (W,) standard errors of sampled scores, shown as ± in each word's tooltip.
    """
    scores = np.asarray(scores, dtype=float)
    errs = np.asarray(errors, dtype=float) if errors is not None and len(errors) == len(words) else np.zeros(len(words))
    m = float(np.abs(scores).max()) if scores.size and np.abs(scores).max() > 0 else 1.0
    parts = []
    for w, s, e in zip(words, scores if scores.size == len(words) else np.zeros(len(words)), errs):
        a = min(1.0, abs(s) / m) * 0.6
        rgb = "33,102,172" if s >= 0 else "178,24,43"
        tip = f"{s:+.4f}" + (f" ± {e:.4f}" if e > 0 else "")
        parts.append(f'<span class="mmviz-word" title="{tip}" style="background: rgba({rgb},{a:.2f}); padding: 1px 3px; '
                     f'margin: 1px; border-radius: 3px; display: inline-block">{html.escape(str(w))}</span>')
    return '<div class="mmviz-words" style="line-height: 2">' + " ".join(parts) + "</div>" if parts else "<p><em>(no transcript)</em></p>"
