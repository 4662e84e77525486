"""Clip review: one clip, why the model predicted what it did."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mmviz.app.app_pages.clip_sections.counterfactuals import counterfactual_section
from mmviz.app.app_pages.clip_sections.player import player
from mmviz.app.app_pages.clip_sections.run import RECORDING, error_section, run_analysis
from mmviz.app.app_pages.clip_sections.what_if import what_if_section
from mmviz.app_service import cached, ui
from mmviz.app_service.datasets import cached_dataset, dataset_features, demo_rows
from mmviz.app_service.service import MAX_UPLOAD_MB, parse_label
from mmviz.errors import MmvizError
from mmviz.explain.analysis import ClipAnalysis
from mmviz.explain.record import ExplainSettings
from mmviz.explain.recording import RecordingAnalysis
from mmviz.features.utterances import utterance_offset
from mmviz.figures import clip as cf
from mmviz.figures import dataset as dfig
from mmviz.figures.recording import recording_timeline
from mmviz.records.sentiment import sentiment_class

st.title("Clip review")
svc = cached.service_or_stop()


# ---- a clip opened from another page
req = st.session_state.pop(ui.OPEN, None)
if req is not None:
    def _open(progress, req=req):
        row = pd.Series(req)
        feats = dataset_features(svc, row)
        span = (req.get("decisive_span_start"), req.get("decisive_span_end"))
        span = span if all(isinstance(v, (int, float)) and math.isfinite(v) for v in span) else None
        label = req.get("label")
        label = float(label) if isinstance(label, (int, float)) and math.isfinite(label) else None
        return svc.analyze(feats, media_path=(req.get("path") or None), label=label, decisive_span=span, progress=progress)

    run_analysis(_open, f"Opening {ui.plain(req.get('clip_id', 'clip'))}…", name=str(req.get("clip_id", "clip")))

# ---- inputs
with st.container(key="clip-input", border=True):
    c1, c2 = st.columns([3, 2])
    with c1:
        up = st.file_uploader(f"Upload a clip (video or audio, up to {MAX_UPLOAD_MB} MB)", key="upload",
                              type=["mp4", "mov", "m4v", "webm", "mkv", "avi", "wav", "mp3", "m4a", "flac", "ogg"])
        transcript = st.text_area("Transcript (optional; otherwise a sidecar file, or none)", key="transcript", height=80)
        sidecar = st.file_uploader("Transcript sidecar (.txt / .srt / .vtt, optional)", key="sidecar", type=["txt", "srt", "vtt"])
        asr = st.checkbox("Without a transcript, recognise the speech offline (pocketsphinx, English)", value=True, key="asr")
        label_text = st.text_input("Label (optional): the clip's sentiment from −3 (very negative) to +3 (very positive)",
                                   key="upload_label", placeholder="e.g. 1.5; leave empty if unknown",
                                   help="Shown beside the prediction and kept with the analysis; labelled uploads can be "
                                        "opened as a dataset (Dataset explorer → Labelled uploads) for error analysis.")
        try:
            label = parse_label(label_text)
            label_ok = True
        except MmvizError as e:
            label, label_ok = None, False
            with st.container(key="label-error"):
                ui.error(e)
        if st.button("Analyse upload", key="analyse", type="primary", disabled=up is None or not label_ok):
            def _upload(progress, up=up, transcript=transcript, sidecar=sidecar, asr=asr, label=label):
                saved = svc.save_upload(up.name, up.getvalue())
                sc = svc.save_sidecar(sidecar.name, sidecar.getvalue()) if sidecar is not None else None
                feats = svc.upload_features(saved, transcript=transcript.strip() or None, sidecar=sc, asr=asr,
                                            sidecar_name=sidecar.name if sidecar is not None else None, progress=progress)
                if svc.reads_whole(feats):
                    res = svc.analyze(feats, media_path=str(saved.path), label=label, progress=progress)
                    if label is not None:
                        svc.remember_label(feats, label, str(saved.path))
                else:  # longer than the model reads: every utterance analysed whole, never a silent cut
                    res = svc.analyze_recording(feats, media_path=str(saved.path), label=label, progress=progress)
                svc.limiter.maybe_evict()
                return res

            run_analysis(_upload, "Analysing the upload…", name=up.name)
    with c2:
        try:
            demo = demo_rows()
        except MmvizError as e:
            ui.error(e)
            demo = pd.DataFrame({"clip_id": []})
        st.caption("Demo clips: generated with planted, known answers")
        names = list(demo["clip_id"].astype(str))
        pick = st.selectbox("Or pick a demo clip", names, key="demo_pick")
        if st.button("Open demo clip", key="open_demo", disabled=not names):
            st.session_state[ui.OPEN] = demo.iloc[names.index(pick)].to_dict()
            st.rerun()
        saved = st.file_uploader("Or open a saved analysis (`mmviz explain --out`: the .json and its .npz)", key="saved_record",
                                 type=["json", "npz"], accept_multiple_files=True)
        if st.button("Open saved analysis", key="open_saved", disabled=not saved):
            run_analysis(lambda progress, saved=saved: svc.open_uploaded_record([(f.name, f.getvalue()) for f in saved]),
                         "Opening the saved analysis…", name=", ".join(f.name for f in saved))

error_section()  # stops the page when an error follows an earlier result (that result is one click away)

res = ui.current()
if res is None:
    st.info("Upload a clip or open a demo clip to see the model's prediction and why.")
    if len(demo):  # also loads the browser's chart code now, not after the first click (about 1.5 s)
        with st.container(key="demo-overview"):
            ui.chart(dfig.demo_overview(demo), key="demo_overview")
    st.stop()

ins, ex, feats = res.inspection, res.explanation, res.features
p = ins.predictions


def recording_section(rec: RecordingAnalysis, current: int) -> None:
    """The whole recording above the per-utterance views: its timeline and the utterance picker."""
    s, lim, n = rec.summary, rec.limits, len(rec.utterances)
    with st.container(key="recording", border=True):
        st.subheader(f"Whole recording: {ui.plain(rec.features.clip_id)}", anchor=False)
        means = ", ".join(f"{h} {v:+.2f}" for h, v in s.mean.items() if h != "fused")
        st.markdown(f"**{rec.features.duration:.1f} s** is longer than the model reads at once ({lim.max_seconds:.0f} s and "
                    f"{lim.max_tokens} transcript tokens), so it was split at pauses into **{n} utterances**, each analysed "
                    f"whole. Duration-weighted mean: **fused {s.mean['fused']:+.2f}** ({sentiment_class(s.mean['fused'])}); {means}.")
        if s.long:
            st.caption(f"Utterances {', '.join(str(i + 1) for i in s.long)} come from speech longer than the model reads "
                       "without a pause: they were cut at the longest gap available (dotted lines), which may fall mid-sentence.")
        if s.short:
            st.caption(f"Utterances {', '.join(str(i + 1) for i in s.short)} are shorter than {lim.min_seconds:.0f} s "
                       "(hatched): fewer cues, so their scores are less reliable.")
        for w in rec.warnings:
            st.warning(ui.plain(w))
        pick_key = f"utterance-{rec.key}"
        ev = ui.chart(recording_timeline(rec, selected=current), key=f"rec-{rec.key}-{current}", on_select="rerun",
                      selection_mode="points")
        pts = (ev or {}).get("selection", {}).get("points", []) if ev else []
        cd = pts[0].get("customdata") if pts else None
        if isinstance(cd, list) and cd and isinstance(cd[0], (int, float)) and int(cd[0]) != current:
            st.session_state[pick_key] = int(cd[0])
            ui.set_current(rec.utterances[int(cd[0])])
            st.rerun()
        st.session_state.setdefault(pick_key, current)

        def label(i: int) -> str:
            sp, words = rec.spans[i], rec.utterances[i].features.transcript
            return (f"{i + 1} · {sp.start:.1f}–{sp.end:.1f} s · fused {s.scores['fused'][i]:+.2f} · "
                    f"{words[:60] + ('…' if len(words) > 60 else '') if words else '(no words)'}")

        pick = st.selectbox("Utterance shown below (click a segment or pick one)", list(range(n)), key=pick_key, format_func=label)
        if pick != current:
            ui.set_current(rec.utterances[pick])
            st.rerun()
        st.caption("The views below are of that utterance, on its own clock (0 s = its start); "
                   "the player plays it from the recording.")


rec = st.session_state.get(RECORDING)
keys = [u.key for u in rec.utterances] if isinstance(rec, RecordingAnalysis) else []
if res.key in keys:
    recording_section(rec, keys.index(res.key))
else:  # another clip was opened since
    st.session_state.pop(RECORDING, None)
offset = utterance_offset(feats)  # where this utterance starts in its recording (0 for a whole clip)

# ---- prediction card
with st.container(key="prediction-card", border=True):
    st.subheader(ui.plain(feats.clip_id), anchor=False)
    m = st.columns(5)
    m[0].metric("Fused", f"{p.fused:+.2f}", sentiment_class(p.fused), delta_color="off")
    m[1].metric("Text head", f"{p.text:+.2f}")
    m[2].metric("Audio head", f"{p.audio:+.2f}")
    m[3].metric("Visual head", f"{p.visual:+.2f}")
    m[4].metric("Label", "—" if res.label is None else f"{res.label:+.2f}")
    if ex.verdict is not None:
        st.markdown(f"**Verdict: {ex.verdict.kind}.** {ui.plain(ex.verdict.text)}")
    st.caption(f"7-class: {sentiment_class(p.fused, 7)} · transcript: {feats.transcript_source} · "
               f"{feats.duration:.1f} s · checkpoint {ins.checkpoint_hash[:12]} · explained {ex.created} (mmviz {ex.mmviz_version})")
    for w in res.warnings:
        st.warning(ui.plain(w))

# ---- player + timeline
seek = float(st.session_state.get(ui.SEEK, 0.0))
left, right = st.columns([2, 3])
with left:
    with st.container(key="video-player"):
        if res.media_path and "utterance" in feats.settings:  # an utterance: play its part of the recording
            player(res.media_path, offset + seek, offset + feats.duration)
        elif res.media_path:
            player(res.media_path, seek)
        else:
            st.info("No media file for this clip (synthetic features).")
        where = f" ({offset + seek:.1f} s into the recording)" if "utterance" in feats.settings else ""
        st.caption(f"Player starts at {seek:.2f} s{where}. Click the timeline or pick a word to jump.")
    if feats.words:
        labels = [f"{w.start:5.2f} s · {w.text}" for w in feats.words]
        choice = st.selectbox("Jump to word", ["—"] + labels, key="word_jump")
        if choice != "—":
            t = feats.words[labels.index(choice)].start
            if abs(t - seek) > 1e-6 and st.session_state.get(ui.LAST_WORD) != choice:
                st.session_state[ui.LAST_WORD] = choice
                st.session_state[ui.SEEK] = t
                st.rerun()
with right:
    with st.container(key="timeline"):
        ev = ui.chart(cf.timeline(feats, ex, decisive_span=res.decisive_span, cursor=seek), key=f"tl-{res.key}",
                      on_select="rerun", selection_mode="points")
        pts = (ev or {}).get("selection", {}).get("points", []) if ev else []
        if pts:
            x = pts[0].get("customdata", [pts[0].get("x")])[0] if isinstance(pts[0].get("customdata"), list) else pts[0].get("x")
            if isinstance(x, (int, float)) and abs(float(x) - seek) > 0.05:
                st.session_state[ui.SEEK] = float(x)
                st.rerun()

# ---- attention
with st.container(key="attention-heatmap", border=True):
    st.subheader("Cross-attention", anchor=False)
    if not ins.has_fusion_tokens:  # late / early / ume: said instead of an empty chart
        st.info(ins.no_fusion_tokens_note())
    else:
        a, b = st.columns(2)
        block = a.selectbox("Fusion block", list(range(ins.n_blocks)), key="att_block",
                            format_func=lambda i: f"block {i} (after LM layer {ins.block_layers[i]})")
        heads = ["mean"] + list(range(ins.cross_attention.shape[1]))
        head = b.selectbox("Head", heads, key="att_head")
        ui.chart(cf.attention_heatmap(ex.attention, block, None if head == "mean" else int(head)), key="att_chart")

with st.container(key="fusion-inspector", border=True):
    from mmviz.app.app_pages.clip_sections import fusion_inspector

    fusion_inspector.render(svc, ins, ex)

with st.container(key="contributions", border=True):
    st.subheader("Modality contributions", anchor=False)
    ui.chart(cf.contribution_bars(ex), key="contrib")
    if ex.verdict is not None and ex.verdict.summary:
        st.markdown(f"**In one line:** {ui.plain(ex.verdict.summary)}")
    st.caption("① Exact Shapley values over the three modalities (a removed modality is replaced by the training mean; "
               "a removed transcript is empty): they add up to the full score minus the score with nothing. ② The "
               "interaction is drawn apart because it is not a fourth part of that sum: it is what the modalities do "
               "together beyond each one alone (synergy: further the same way; redundancy: less than each alone says). "
               "③ Integrated gradients (Captum) per modality, from the training mean (and, when turned on below, "
               "from pad tokens for the text)"
               + (f", convergence delta {ex.integrated_gradients.delta:.3f}." if ex.integrated_gradients is not None else "."))
    for n in ex.notes:
        st.caption(ui.plain(n))

with st.container(key="word-attributions", border=True):
    st.subheader("Word attributions", anchor=False)
    wa = ex.word_attributions
    st.markdown(cf.word_attribution_html(wa.words if wa else (), wa.scores if wa else (), wa.standard_error if wa else None),
                unsafe_allow_html=True)  # escaped in the builder
    st.caption("Blue pushes the score up, red down (hover a word for its score). "
               + (ui.plain(wa.describe()[0].upper() + wa.describe()[1:]) if wa is not None and len(wa) else ""))
    with st.expander("Word attribution method", expanded=False):
        now = {k: v for k, v in ex.settings.items() if k in ExplainSettings.__dataclass_fields__}
        now_s = ExplainSettings(**now)
        methods = {"shapley": "Shapley over words (adds up exactly)", "integrated_gradients": "Integrated gradients (Captum)"}
        w_method = st.radio("Method", list(methods), index=list(methods).index(now_s.word_method), key="wa_method",
                            format_func=methods.get, horizontal=True)
        if w_method == "shapley":
            c1, c2 = st.columns(2)
            ests = {"auto": "Automatic (sampled orders up to 11 words, first-and-last beyond)",
                    "ends": "Each word first and last (deterministic, 2 passes per word)",
                    "permutations": "Sampled word orders"}
            w_est = c1.radio("Estimator (transcripts over 6 words; shorter ones are exact)", list(ests),
                             index=list(ests).index(now_s.word_estimator), key="wa_estimator", format_func=ests.get,
                             help="First-and-last is exact when words interact at most in pairs and found the exact "
                                  "top word more often than 6 sampled orders at a third of the cost.")
            w_samples = now_s.word_samples
            if w_est == "permutations":
                w_samples = c1.number_input("Word orders sampled", 2, 512, int(now_s.word_samples), step=2,
                                            key="wa_samples", help="More orders: smaller sampling error, slower "
                                            "(each order is one LM pass per word).")
            gone = {"drop": "taken out of the transcript", "pad": "replaced by the pad token"}
            w_base = c2.radio("A removed word is", list(gone), index=list(gone).index(now_s.word_baseline), key="wa_baseline",
                              format_func=gone.get)
            new_s = now_s.replace(word_method=w_method, word_estimator=w_est, word_samples=int(w_samples),
                                  word_baseline=w_base)
        else:
            w_steps = st.number_input("Integration steps", 2, 1024, int(now_s.word_steps), key="wa_steps",
                                      help="Each step is one LM pass forward and backward; the caption above reports "
                                           "how far the scores are from adding up.")
            new_s = now_s.replace(word_method=w_method, word_steps=int(w_steps), word_baseline="pad")
        if w_method == "shapley":
            t_ig = st.checkbox("Also compare integrated gradients on the text (slow; its completeness gap is shown)",
                               value=bool(now_s.text_ig), key="wa_text_ig",
                               help="Adds the text bar to panel ③. Off by default: on this LM the path from pad "
                                    "tokens rarely adds up at 16 steps.")
            new_s = new_s.replace(text_ig=bool(t_ig))
        if st.button("Re-explain with these settings", key="wa_apply", disabled=new_s == now_s):
            def _reexplain(progress, res=res, new_s=new_s):
                expl = svc.explanation(res.features, res.inspection, progress=progress, settings=new_s)
                return ClipAnalysis(res.features, res.inspection, expl, media_path=res.media_path, label=res.label,
                                    decisive_span=res.decisive_span)

            run_analysis(_reexplain, "Re-explaining the words…")
            st.rerun()

what_if_section(svc, res)
counterfactual_section(svc, res)

with st.container(key="clip-map", border=True):
    st.subheader("Where this clip sits in the dataset", anchor=False)
    ds = cached_dataset(svc, "demo")
    if ds is None or len(ds.table) == 0:
        st.info("Score the demo set in the Dataset explorer to place this clip on its map.")
    else:
        c1, c2 = st.columns(2)
        color = c1.selectbox("Colour by", list(dfig.COLOR_BY), key="clip_map_color")
        space = c2.selectbox("Embedding", list(ds.spaces) or ["fused"], key="clip_map_space")
        xy = ds.place(ins, space)
        ui.chart(dfig.dataset_map(ds.table, color, highlight=xy, highlight_name=feats.clip_id, space=space), key="clip_map")
        st.caption("The star is placed on the fitted map with openTSNE's transform (the map is not refitted).")
