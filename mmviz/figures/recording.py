"""The whole-recording timeline: one segment per utterance, coloured by the model's score.

Pure builder: a :class:`~mmviz.explain.recording.RecordingAnalysis` in, a Plotly figure out.
Scores, spans, the duration-weighted mean and the long/short flags all come from the record
(its ``summary``); nothing is recomputed here. Each bar carries its utterance index in
``customdata`` so a page can open the utterance that was clicked.
"""

from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go

from mmviz.explain.recording import HEADS, RecordingAnalysis
from mmviz.records.sentiment import SCALE, sentiment_class

LAYOUT = dict(template="plotly_white", margin=dict(l=70, r=20, t=60, b=40))


def _hover_text(rec: RecordingAnalysis, i: int, head: str, score: float) -> str:
    """What one segment says on hover: span, score, flags and its transcript (escaped, wrapped)."""
    sp = rec.spans[i]
    words = rec.utterances[i].features.transcript or "(no words)"
    if len(words) > 320:
        words = words[:320].rsplit(" ", 1)[0] + " …"
    lines = [f"<b>utterance {i + 1}</b>: {sp.start:.1f}–{sp.end:.1f} s",
             f"{head} {score:+.2f} ({sentiment_class(score)})"]
    flags = [f for f, on in (("cut from speech longer than the model reads", sp.long), ("short", sp.short)) if on]
    if flags:
        lines.append(", ".join(flags))
    lines += [html.escape(line) for line in textwrap.wrap(words, 60)]
    return "<br>".join(lines)


def recording_timeline(rec: RecordingAnalysis, *, selected: int | None = None) -> go.Figure:
    """Utterances as segments on the recording's clock, one row per head, coloured by score.

    Red is negative and blue positive on the model's [-3, 3] scale (the Clip review colours);
    short utterances are hatched, cuts made inside long speech are dotted lines, and
    ``selected`` (an utterance index) is outlined. Hover shows each utterance's transcript.
    """
    s = rec.summary
    starts, durs = s.starts, s.ends - s.starts
    fig = go.Figure()
    for k, head in enumerate(reversed(HEADS)):  # fused on top
        scores = s.scores[head]
        width = [3 if i == selected else 0.5 for i in range(len(scores))]
        fig.add_trace(go.Bar(
            x=durs, base=starts, y=[head] * len(scores), orientation="h", name=head, showlegend=False,
            customdata=[[i, float(a), float(b)] for i, (a, b) in enumerate(zip(s.starts, s.ends))],
            hovertext=[_hover_text(rec, i, head, float(v)) for i, v in enumerate(scores)], hoverinfo="text",
            marker=dict(color=scores, colorscale="RdBu", cmin=SCALE[0], cmax=SCALE[1],
                        showscale=k == len(HEADS) - 1, colorbar=dict(title="score", len=0.9),
                        line=dict(color=["#111" if i == selected else "#fff" for i in range(len(scores))], width=width),
                        pattern=dict(shape=["/" if i in s.short else "" for i in range(len(scores))], fgcolor="#444")),
        ))
    for sp in rec.spans[:-1]:
        if sp.cut == "split":
            fig.add_vline(x=sp.end, line=dict(color="#555", dash="dot", width=1))
    mean = s.mean["fused"]
    fig.update_layout(
        **LAYOUT, height=260, barmode="overlay", bargap=0.25,
        title=(f"Whole recording: {len(rec.spans)} utterances · duration-weighted mean fused "
               f"{mean:+.2f} ({sentiment_class(mean)})"),
        xaxis=dict(title="seconds (recording clock)", range=[float(s.starts[0]), float(s.ends[-1])]),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(HEADS))),
    )
    return fig
