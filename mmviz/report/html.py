"""Self-contained HTML reports: figures embedded with plotly.js inline, provenance, escaped text.

Every string that came from a user or a file (clip names, transcripts, notes, tags) goes through
``html.escape``; the only raw HTML is what this module writes itself.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

import mmviz
from mmviz.data.competition import CompetitionReport
from mmviz.explain.analysis import ClipAnalysis
from mmviz.figures import clip as cf
from mmviz.figures import dataset as dfig
from mmviz.figures.competition import competition_bars
from mmviz.records.sentiment import sentiment_class

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:.9em}
.card{background:#f6f6fa;border-radius:8px;padding:1em;margin:1em 0} .big{font-size:1.4em;font-weight:600}
.prov{font-size:.85em;color:#555}"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _figs_html(figs: list[tuple[str, go.Figure]]) -> str:
    out = []
    for i, (title, fig) in enumerate(figs):
        div = pio.to_html(fig, full_html=False, include_plotlyjs="inline" if i == 0 else False,
                          config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}})
        out.append(f"<h2>{_e(title)}</h2>\n{div}")
    return "\n".join(out)


def _prov_table(prov: dict) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in prov.items())
    return f'<table class="prov">{rows}</table>'


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>\n<h1>{_e(title)}</h1>\n{body}\n</body></html>\n")


def clip_report(analysis: ClipAnalysis, provenance: dict | None = None, notes=(), seed: int = 0) -> str:
    """One clip's report from its records (as the app shows it, or as ``mmviz explain --out`` saved it)."""
    ins, ex, f = analysis.inspection, analysis.explanation, analysis.features
    p = ins.predictions
    prov = {"clip": f.clip_id, "content hash": f.content_hash, "checkpoint hash": ins.checkpoint_hash, "backbone": ins.backbone,
            "explanations": f"mmviz.explain {ex.mmviz_version} ({ex.created})", "explanation settings": ex.settings,
            "extraction settings": f.settings, "seed": ex.seed if ex.seed is not None else seed, "mmviz": mmviz.__version__,
            "report date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    prov["fusion strategy"] = ins.strategy_label
    prov |= {k: v for k, v in (provenance or {}).items() if k not in prov}
    v = ex.verdict
    verdict = f"<p><strong>{_e(v.kind)}</strong>: {_e(v.text)}</p>" if v is not None else "<p>No verdict: Shapley values were not computed.</p>"
    card = (f'<div class="card"><div class="big">{_e(sentiment_class(p.fused))} ({p.fused:+.2f})</div>'
            f"<p>Text head {p.text:+.2f} · audio head {p.audio:+.2f} · visual head {p.visual:+.2f}"
            + (f" · label {analysis.label:+.2f}" if analysis.label is not None else "") + "</p>" + verdict + "</div>")
    wa = ex.word_attributions
    words = "<h2>Word attributions</h2>" + (cf.word_attribution_html(wa.words, wa.scores) if wa is not None else "<p><em>(not computed)</em></p>")
    transcript = f"<h2>Transcript ({_e(f.transcript_source)})</h2><p>{_e(f.transcript) or '<em>none</em>'}</p>"
    cfs = "".join(f"<tr><td>{_e(c.name)}</td><td>{c.fused:+.3f}</td><td>{c.delta:+.3f}</td></tr>" for c in (ex.counterfactuals or ()))
    cft = f"<h2>Counterfactuals</h2><table><tr><th>change</th><th>fused</th><th>Δ</th></tr>{cfs}</table>" if cfs else ""
    nt = "".join(f"<li><strong>{_e(n.author or 'anonymous')}</strong> ({_e(n.created)}) [{_e(', '.join(n.tags))}]: {_e(n.text)}</li>"
                 for n in notes)
    gates = cf.gate_caption(ins) if ins.has_fusion_tokens else ins.no_fusion_tokens_note()
    remarks = "".join(f"<li>{_e(n)}</li>" for n in dict.fromkeys((*analysis.warnings, *ex.notes, gates)))
    figs = [("Scores", cf.prediction_bars(ins)), ("Modality contributions", cf.contribution_bars(ex)),
            ("Timeline", cf.timeline(f, ex, decisive_span=analysis.decisive_span))]
    if ins.has_fusion_tokens:  # late / early / ume checkpoints have none: the remarks say so
        figs += [("Cross-attention (block 0, mean over heads)", cf.attention_heatmap(ex.attention, 0)),
            ("Fusion blocks: how much each changed the fusion tokens on this clip", cf.block_update_bars(ex)),
            ("Fusion tokens: each token's own score", cf.token_prediction_bars(ex)),
            ("Attention by modality, per fusion block", cf.attention_block_share(ex))]
    body = (card + (f"<h2>Remarks</h2><ul>{remarks}</ul>" if remarks else "") + transcript + words + cft + _figs_html(figs)
            + (f"<h2>Notes</h2><ul>{nt}</ul>" if nt else "") + "<h2>Provenance</h2>" + _prov_table(prov))
    return _page(f"mmviz report: {f.clip_id}", body)


def dataset_report(table: pd.DataFrame, metrics: dict, provenance: dict, name: str, seed: int = 0,
                   competition: CompetitionReport | None = None) -> str:
    """A dataset's report; ``competition`` (Error analysis' modality-competition diagnostics) adds its section."""
    prov = {"dataset": name, "clips": len(table), "seed": seed, "mmviz": mmviz.__version__,
            "report date": datetime.now(timezone.utc).isoformat(timespec="seconds")} | provenance
    mt = "".join(f"<tr><th>{_e(k)}</th><td>{v:.4f}</td></tr>" for k, v in metrics.items())
    worst = table.sort_values("abs_error", ascending=False).head(10)
    wt = "".join(f"<tr><td>{_e(r.clip_id)}</td><td>{r.label}</td><td>{r.pred_fused:+.2f}</td><td>{_e(r.loudest_head)}</td></tr>"
                 for r in worst.itertuples())
    figs = [("Map", dfig.dataset_map(table, "label")), ("Confusion (2 classes)", dfig.confusion_matrix(table, 2)),
            ("Confusion (7 classes)", dfig.confusion_matrix(table, 7)), ("Per largest unimodal head (rule)", dfig.slice_accuracy(table, "loudest_head"))]
    if competition is not None:
        figs.append(("Modality competition: probes and unimodal heads, fused vs reference", competition_bars(competition)))
    body = (f"<h2>Metrics</h2><table>{mt}</table>"
            f"<h2>Worst errors</h2><table><tr><th>clip</th><th>label</th><th>fused</th><th>largest unimodal head (rule)</th></tr>{wt}</table>"
            + (_competition_html(competition) if competition is not None else "") + _figs_html(figs)
            + "<h2>Provenance</h2>" + _prov_table(prov))
    return _page(f"mmviz dataset report: {name}", body)


def _competition_html(rep: CompetitionReport) -> str:
    """Probes and heads per modality, the crowded-out flags and the rule that set them."""
    t = rep.table()
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    fmt = lambda v: _e(v) if isinstance(v, str) or pd.api.types.is_bool(v) else ("n/a" if pd.isna(v) else f"{v:.3f}")  # noqa: E731
    rows = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in r) + "</tr>" for r in t.itertuples(index=False))
    flagged = ", ".join(rep.crowded_out) if rep.crowded_out else ("none" if rep.has_reference else "no reference given")
    ref = _e(rep.settings.get("reference_name") or "none")
    return (f"<h2>Modality competition</h2><p>Crowded out: <strong>{_e(flagged)}</strong> · {rep.n} labelled clips · "
            f"reference: {ref} ({_e(rep.reference_strategy or '-')}) · rule: {_e(rep.rule)}.</p>"
            f"<table><tr>{head}</tr>{rows}</table>")
