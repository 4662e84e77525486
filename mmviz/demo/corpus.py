"""Generate a demo corpus: clips with planted, known cues and a metadata table.

Why: an explanation can only be checked against a known answer. Each clip's label follows
:func:`mmviz.demo.label.demo_label` from three planted valences, so the decisive modality
(and, for some clips, the decisive time span) is known and can be compared with what the
explainers say.

Output in ``out_dir``:

* ``keep_media=True``: ``<clip_id>.mp4`` (H.264 video + AAC audio), ``<clip_id>.txt``
  (the transcript sidecar) and ``metadata.csv``;
* ``keep_media=False``: ``features/<clip_id>.json/.npz`` (the extracted ClipFeatures record,
  no video file) and ``metadata.csv`` — for large training corpora.

The same seed always gives the same metadata (and the same rendered media).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mmviz.progress import Progress, report
from mmviz.demo.clip import DemoClip, render_clip
from mmviz.demo.plan import plan_clip
from mmviz.demo.real_text import load_real_text, pick_sentence
from mmviz.demo.text import Sentence, make_sentence, varied_sentence
from mmviz.demo.voice import require_espeak
from mmviz.errors import MmvizError

TEXT_SOURCES = ("templates", "mosi", "vader")
METADATA_COLUMNS = [
    "clip_id", "file", "transcript", "label", "text_valence", "vocal_valence", "facial_valence",
    "decisive_modality", "decisive_span_start", "decisive_span_end", "conflict", "scenario",
    "duration", "seed", "text_source", "text_source_id",
]
#: Video settings of the committed demo set: small frames, modest frame rate.
FPS = 15.0
SIZE = (320, 240)


#: extra metadata columns of a varied-generator corpus (``factors`` given)
FACTOR_COLUMNS = ["voice", "face", "factor_set", "noise", "snr_db", "rt60_s", "split"]


def _sentence_chooser(text_source: str, shared_dir: str | Path | None,
                      factors: str | None = None) -> Callable[[float, np.random.Generator], Sentence]:
    from mmviz.demo.factors import pools, text_part

    if text_source == "templates":
        if factors is None:
            return make_sentence
        _, _, frames, phrases, neutral = pools(factors)
        return lambda target, rng: varied_sentence(target, rng, frames, phrases, neutral)
    pool = load_real_text(text_source, shared_dir)
    if factors is not None:
        pool = pool[pool["id"].astype(str).map(text_part) == factors].reset_index(drop=True)
    return lambda target, rng: pick_sentence(pool, target, rng)


def _write_media(clip: DemoClip, out_dir: Path) -> str:
    from mmviz.media.encode import write_clip

    name = f"{clip.meta['clip_id']}.mp4"
    write_clip(out_dir / name, clip.frames, clip.fps, clip.audio, clip.sample_rate)
    (out_dir / f"{clip.meta['clip_id']}.txt").write_text(clip.transcript + "\n", encoding="utf-8")
    return name


def _write_features(clip: DemoClip, out_dir: Path) -> str:
    from mmviz.features.extract import extract_features
    from mmviz.media.decode import DecodedMedia
    from mmviz.records import save_record

    name = f"{clip.meta['clip_id']}.mp4"
    media = DecodedMedia.from_arrays(clip.frames, clip.fps, clip.audio, clip.sample_rate, name)
    features = extract_features(media, transcript=clip.transcript)
    rel = Path("features") / clip.meta["clip_id"]
    save_record(features, out_dir / rel)
    return str(rel.with_suffix(".json"))


def generate_corpus(
    out_dir: str | Path,
    n: int,
    seed: int,
    *,
    text_source: str = "templates",
    shared_dir: str | Path | None = None,
    keep_media: bool = True,
    progress: Progress | None = None,
    factors: str | None = None,
    first: int = 0,
) -> pd.DataFrame:
    """Render ``n`` clips into ``out_dir`` and return (and write) their metadata.

    text_source: "templates" (sentences the project writes, exact valence), "mosi" or
        "vader" (real human-rated sentences read from ``shared_dir``; see real_text.py).
    progress: called as ``progress(stage, fraction)`` after each clip.
    factors: None = the original single-voice, single-face generator (the committed demo set);
        "train" / "heldout" = the varied generator drawing speakers, faces, frames, phrases and
        real sentences from that part of each pool (:mod:`mmviz.demo.factors`). A "train" corpus
        gets a ``split`` column by transcript (no sentence in two splits); a "heldout" corpus is
        all ``split = heldout``.
    first: index of the first clip (clip ids and seeds continue from there), so one corpus can
        be generated in parallel parts.
    """
    if int(n) < 1:
        raise MmvizError(f"The corpus needs at least one clip (got n={n}).")
    if text_source not in TEXT_SOURCES:
        raise MmvizError(f"Unknown text source {text_source!r}.", hint=f"Use one of {', '.join(TEXT_SOURCES)}.")
    require_espeak()
    from mmviz.demo.factors import FACTOR_SETS, draw_factors, transcript_split

    if factors is not None and factors not in FACTOR_SETS:
        raise MmvizError(f"Unknown factor set {factors!r}.", hint=f"Use one of {', '.join(FACTOR_SETS)}.")
    choose = _sentence_chooser(text_source, shared_dir, factors)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, i in enumerate(range(int(first), int(first) + int(n))):
        plan = plan_clip(i, int(seed))
        drawn = draw_factors(factors, plan.seed) if factors is not None else None
        clip = render_clip(plan, choose, clip_id=f"demo{i:03d}", fps=FPS, size=SIZE, factors=drawn)
        file = _write_media(clip, out) if keep_media else _write_features(clip, out)
        row = {**clip.meta, "file": file}
        if factors is not None:
            row["split"] = "heldout" if factors == "heldout" else transcript_split(clip.transcript)
        rows.append(row)
        report(progress, f"{k + 1}/{int(n)} clips", (k + 1) / max(int(n), 1))
    meta = pd.DataFrame(rows)[METADATA_COLUMNS + (FACTOR_COLUMNS if factors is not None else [])]
    meta.to_csv(out / "metadata.csv", index=False)
    return meta


#: metadata column holding each modality's planted valence
PLANTED_COLUMNS: dict[str, str] = {"text": "text_valence", "audio": "vocal_valence", "visual": "facial_valence"}


def planted_valences(meta: dict) -> dict[str, float]:
    """Each modality's planted valence recorded in a metadata row, ``{"text": ..., ...}``.

    Why exposed: these are the per-head training targets (the text head learns the sentence's
    valence, the audio head the voice's, the visual head the face's; ``head_targets="planted"``).
    Modalities without a finite value (real data, text-only items) are left out.
    """
    out = {}
    for modality, col in PLANTED_COLUMNS.items():
        try:
            v = float(meta[col])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(v):
            out[modality] = v
    return out


def read_metadata(corpus_dir: str | Path) -> pd.DataFrame:
    """Read a corpus's ``metadata.csv`` (empty transcripts and spans stay empty, not NaN text)."""
    path = Path(corpus_dir) / "metadata.csv"
    if not path.is_file():
        raise MmvizError(f"No metadata.csv in {corpus_dir}.", hint="Generate the corpus with `mmviz demo-corpus`.")
    return pd.read_csv(path, dtype={"clip_id": str, "file": str, "transcript": str, "text_source_id": str}, keep_default_na=True)
