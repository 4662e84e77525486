"""Dashboard benchmark: time from clicking "Analyse upload" to every Clip review view on screen.

Starts ``streamlit run app.py`` on a free port with a fresh cache (so nothing is served from
disk), drives Debian's Chromium through Playwright, uploads a 10 s clip made the way the demo
clips are (espeak-ng speech over the animated face; the committed demo clips are 3.6-5.5 s), and
prints a table:

    python bench/app_bench.py [--checkpoint tiny|default|DIR] [--runs 3] [--settle 30] [--recording-seconds 180]

The server picks its device itself (CUDA when present, in bf16 autocast; the tiny model always
runs on the CPU), and the table says which device served each run (from the records it saved).
With a CUDA device the default checkpoint is the shipped model, and the GPU rows are checked
against the target: upload -> all views <= 1.5 s for the 10 s clip. Without one the script
says "GPU rows: not measured (no CUDA device)".

The first run types a transcript and is cold (features + model + explanations); the next ones
upload the same bytes and transcript and measure the cached path (what a refresh or a second
user sees); the last leaves the box empty, so the speech is recognised offline (pocketsphinx),
cold again because the words differ. Before the first run the page
is opened once and the server is left ``--settle`` seconds: a server that has just started
spends its first ~12 s warming the model up in the background (``AppService.warm_up``), which
is what an analyst arriving later finds done. ``--settle 0`` measures a request that arrives
while that warm-up is still running.

``--recording-seconds 180`` times a long upload instead: a 3-minute spoken review
(``pick_recording``: espeak-ng paragraphs with pauses over the animated face, 10 fps) with its
words typed, which the page analyses utterance by utterance (every utterance explained) and
shows as a whole-recording timeline above the first utterance's views. The clock stops when
the recording section and every view of the utterance are on screen; the ASR run is skipped.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from mmviz.testing import testids as T
from mmviz.testing.browser import launch_browser, streamlit_server
from mmviz.testing.clips import speech_clip


def pick_clip(tmp: Path, seconds: float = 10.0) -> Path:
    """A 10 s clip made like the demo clips: espeak-ng speaking ``TYPED`` over the animated face
    (so the offline-ASR run recognises real speech); a tone over a gradient when espeak-ng is missing."""
    return speech_clip(tmp / "bench10s.mp4", TYPED, seconds, valence=1.5, seed=0)


#: a spoken film review: paragraphs of sentences (valence on [-3, 3] for the voice); see ``pick_recording``
REVIEW = (
    (1.5, ("i went to see the new film on friday evening with two old friends",
           "the opening scenes were beautiful and the music was lovely",
           "everyone in the theatre seemed to enjoy the first half")),
    (-1.5, ("then the story slowed down and nothing much happened for a while",
            "the dialogue felt stiff and some of the jokes fell flat",
            "i started to check the time more than once")),
    (2.0, ("but the lead actress was wonderful in every single scene",
           "she made even the weak lines sound honest and warm",
           "her performance alone is worth the price of the ticket")),
    (-2.0, ("the villain on the other hand was boring and badly written",
            "his plan made no sense and the big fight was a mess",
            "i honestly could not tell who was hitting whom")),
    (1.0, ("the camera work in the desert scenes was really impressive",
           "the colours were rich and the wide shots felt huge",
           "it looked great on the big screen")),
    (-1.0, ("sadly the ending was rushed and far too predictable",
            "every twist was easy to see coming from miles away",
            "it left me a little cold")),
    (0.5, ("my friends liked it more than i did to be fair",
           "one of them wants to see it again next week",
           "the other one bought the soundtrack on the way home")),
    (2.5, ("overall it is a pleasant film with a great central performance",
           "i would recommend it to anyone who loves a good romance",
           "just do not expect a perfect story")),
)


def pick_recording(tmp: Path, seconds: float = 180.0, *, video: bool = True) -> tuple[Path, str]:
    """A ``seconds`` long spoken recording made the way the demo clips are: espeak-ng reads the
    ``REVIEW`` paragraphs (each with its own vocal valence), 0.35 s between sentences and 1.2 s
    between paragraphs, repeating until the time is full, over the animated face (mp4) or
    audio only (``video=False``: a wav). Returns the file and the words spoken (the transcript)."""
    from mmviz.demo.voice import speak_with_valence

    sr = None
    pieces: list[np.ndarray] = []
    spoken: list[str] = []
    pos = 0.5
    k = 0
    while True:
        valence, sentences = REVIEW[k % len(REVIEW)]
        chunk = [speak_with_valence(s, valence) for s in sentences]
        sr = chunk[0].sample_rate
        need = sum(len(c.audio) for c in chunk) / sr + 0.35 * (len(chunk) - 1)
        if pos + need > seconds - 0.5:
            break
        for i, (c, text) in enumerate(zip(chunk, sentences)):
            pieces.append((pos, c.audio))
            spoken.append(text)
            pos += len(c.audio) / sr + (0.35 if i < len(chunk) - 1 else 1.2)
        k += 1
    audio = np.zeros(int(seconds * sr), np.float32)
    for start, a in pieces:
        audio[int(start * sr): int(start * sr) + len(a)] = a
    if not video:
        from mmviz.media.encode import write_clip

        return write_clip(tmp / f"recording{int(seconds)}s.wav", None, 0.0, audio, sr), " ".join(spoken)
    from mmviz.demo.face import render_face
    from mmviz.media.encode import write_clip

    fps = 10.0
    frames = render_face(seconds, fps, 1.0, seed=0)
    return write_clip(tmp / f"recording{int(seconds)}s.mp4", frames, fps, audio, sr), " ".join(spoken)


#: 10 s of speech, typed into the transcript box in the "typed" runs (the analyst's usual flow)
TYPED = ("honestly the acting in this film was wonderful and the story kept me watching "
         "but the ending felt rushed and a little too long for what it had to say")


def one_run(browser, url: str, clip: Path, transcript: str | None = None, views: tuple[str, ...] = T.CLIP_VIEWS) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(T.css(T.CLIP_INPUT), timeout=300_000)
    page.locator(f'{T.css(T.CLIP_INPUT)} [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(clip))
    page.wait_for_selector(f'{T.css("analyse")} button:not([disabled])', timeout=60_000)
    if transcript is not None:
        box = page.get_by_label(re.compile("^Transcript \\(optional"))
        box.fill(transcript)
        box.press("Control+Enter")
        page.wait_for_timeout(1500)  # the box's rerun settles before the click
    t0 = time.perf_counter()
    page.locator(f'{T.css("analyse")} button').click()
    for tid in views:
        page.wait_for_selector(T.css(tid), timeout=1_800_000)
    page.wait_for_selector(f'{T.css(T.TIMELINE)} .js-plotly-plot .main-svg', timeout=60_000)
    page.wait_for_selector(f'{T.css(T.ATTENTION)} .js-plotly-plot .main-svg', timeout=60_000)
    dt = time.perf_counter() - t0
    if page.locator(T.EXCEPTION).count() or errors:
        raise SystemExit(f"the page showed an error: {errors}")
    page.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="default: the shipped model with CUDA, else tiny")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--settle", type=float, default=30.0, help="seconds between the first page load and the first upload")
    ap.add_argument("--recording-seconds", type=float, default=0.0,
                    help="time a spoken recording this long (e.g. 180), analysed utterance by utterance, instead of the 10 s clip")
    a = ap.parse_args()
    import torch
    from playwright.sync_api import sync_playwright

    cuda = torch.cuda.is_available()
    a.checkpoint = a.checkpoint or ("default" if cuda else "tiny")

    with tempfile.TemporaryDirectory() as tmp:
        if a.recording_seconds:
            clip, typed = pick_recording(Path(tmp), a.recording_seconds)
            views = (T.RECORDING, *T.CLIP_VIEWS)
        else:
            clip, typed, views = pick_clip(Path(tmp)), TYPED, T.CLIP_VIEWS
        t_start = time.perf_counter()
        with streamlit_server({"MMVIZ_CHECKPOINT": a.checkpoint, "MMVIZ_APP_CACHE": str(Path(tmp) / "cache")}) as url:
            t_server = time.perf_counter() - t_start
            with sync_playwright() as p:
                b = launch_browser(p)
                first = b.new_page()
                first.goto(url)
                first.wait_for_selector(T.css(T.CLIP_INPUT), timeout=300_000)  # the model is loaded, warm-up starts
                time.sleep(a.settle)
                first.close()
                times = [("typed transcript", "cold", one_run(b, url, clip, typed, views))]
                times += [("typed transcript", "cached", one_run(b, url, clip, typed, views)) for _ in range(a.runs - 1)]
                if not a.recording_seconds:
                    times += [("offline ASR", "cold", one_run(b, url, clip))]
                b.close()
            parts = server_timings(Path(tmp) / "cache")
            device = server_device(Path(tmp) / "cache")
    gpu = device.startswith("cuda")
    print(f"clip: {clip.name}  checkpoint: {a.checkpoint}  server start: {t_server:.1f} s  settle: {a.settle:.0f} s"
          + (f"  ({len(typed.split())} words typed; {len(parts)} utterances explained)" if a.recording_seconds else ""))
    print(f"{'transcript':<18}{'run':<8}{'device':<24}{'click → all views visible (s)':>32}")
    for how, kind, t in times:
        verdict = f"  (target <= {VIEWS_TARGET_S} s: {'met' if t <= VIEWS_TARGET_S else 'missed'})" if gpu else ""
        print(f"{how:<18}{kind:<8}{device:<24}{t:>32.2f}{verdict}")
    if not cuda:
        print("GPU rows: not measured (no CUDA device)")
    elif not gpu:
        print(f"GPU rows: not measured (the server ran {a.checkpoint!r} on {device}; the tiny model always runs on "
              "the CPU: pass --checkpoint default)")
    print("\nserver side, per explanation computed (s; from the records the server saved):")
    for name, row in parts:
        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    if len(parts) > 1:
        print(f"  all {len(parts)} explanations: total {sum(r.get('total', 0.0) for _, r in parts):.1f} s")


#: GPU target: upload -> every Clip review view on screen, 10 s clip (s)
VIEWS_TARGET_S = 1.5


def server_device(cache: Path) -> str:
    """The device (and precision) the server's inspections record, e.g. "cuda:0 bf16-autocast"."""
    import json

    found = {json.loads(p.read_text())["record"].get("device", "?") for p in (cache / "results" / "inspections").glob("*/*.json")}
    return ", ".join(sorted(found)) or "?"


def server_timings(cache: Path) -> list[tuple[str, dict[str, float]]]:
    """Where each cold run's model time went: the ``timings`` of every explanation record saved
    (read as plain JSON: only numbers are needed)."""
    import json

    out = []
    for p in sorted((cache / "results" / "explanations").glob("*/*.json"), key=lambda q: q.stat().st_mtime):
        rec = json.loads(p.read_text())["record"]
        words = (rec.get("word_attributions") or {}).get("words") or []
        row = {k.replace("shared pass: ", "pass "): float(v) for k, v in rec["timings"].items() if k != "prediction"}
        out.append((f"{len(words)} words", row))
    return out


if __name__ == "__main__":
    main()
