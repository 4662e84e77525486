"""Loaders for the real human-rated text in ``shared/data/text``.

Why: sentences the project writes itself are easy to read; real opinions are not. These
loaders let the demo corpus (and training) use human-labelled sentences instead. The files
are never copied into the project: callers pass the shared directory, and a missing file is a
clear :class:`~mmviz.errors.DatasetError`.

Every loader returns a DataFrame with the same columns: ``id, text, valence, source``, where
``valence`` is on the MOSI scale [-3, 3].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmviz.errors import DatasetError

MOSI_FILE = Path("data/text/mosi_train_valid.csv")
VADER_DIR = Path("data/text/vader_groundtruth")
VADER_FILES: tuple[str, ...] = (
    "movieReviewSnippets_GroundTruth.txt",
    "amazonReviewSnippets_GroundTruth.txt",
    "tweets_GroundTruth.txt",
    "nytEditorialSnippets_GroundTruth.txt",
)
#: VADER ground truth is the mean of 20 raters on [-4, 4]; MOSI is [-3, 3].
VADER_SCALE = 3.0 / 4.0
COLUMNS = ["id", "text", "valence", "source"]


def vader_to_mosi(score: float | np.ndarray) -> float | np.ndarray:
    """Rescale a VADER rating to the MOSI scale: ``clip(score * 3/4, -3, 3)``.

    Linear, keeps 0 at 0 and maps the VADER ends (-4, 4) onto the MOSI ends (-3, 3); the clip
    only catches rounding outside the nominal range.
    """
    return np.clip(np.asarray(score, dtype=float) * VADER_SCALE, -3.0, 3.0)


def _missing(path: Path, what: str) -> DatasetError:
    return DatasetError(
        f"Cannot find the {what} at {path}.",
        hint="Pass the folder that holds data/text (the project's shared/ folder) as shared_dir.",
    )


def load_mosi(shared_dir: str | Path, modes: tuple[str, ...] = ("train", "dev")) -> pd.DataFrame:
    """CMU-MOSI train/dev opinion segments (label already on [-3, 3]).

    Rows with empty text are dropped. ``modes`` picks the split(s); the MOSI test split is not
    in shared/ on purpose.
    """
    path = Path(shared_dir) / MOSI_FILE
    if not path.is_file():
        raise _missing(path, "CMU-MOSI text file")
    try:
        df = pd.read_csv(path, dtype={"id": str, "text": str}, keep_default_na=False)
    except (OSError, ValueError) as e:
        raise DatasetError(f"Cannot read {path} ({e}).") from e
    need = {"id", "text", "label", "mode"}
    if not need <= set(df.columns):
        raise DatasetError(f"{path} lacks columns {sorted(need - set(df.columns))}.")
    df = df[df["mode"].isin(modes) & (df["text"].str.strip() != "")]
    out = pd.DataFrame(
        {
            "id": df["id"].astype(str),
            "text": df["text"].str.strip(),
            "valence": pd.to_numeric(df["label"], errors="coerce").clip(-3, 3),
            "source": "mosi",
        }
    )
    return out.dropna(subset=["valence"]).reset_index(drop=True)[COLUMNS]


def load_vader(shared_dir: str | Path, files: tuple[str, ...] = VADER_FILES) -> pd.DataFrame:
    """VADER ground-truth snippets, rescaled to [-3, 3] with :func:`vader_to_mosi`.

    Each file is tab-separated ``id<TAB>score<TAB>text`` without a header. Ids are prefixed
    with the file's stem so they stay unique across files.
    """
    frames = []
    for name in files:
        path = Path(shared_dir) / VADER_DIR / name
        if not path.is_file():
            raise _missing(path, "VADER ground-truth file")
        rows = []
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                parts = line.rstrip("\r\n").split("\t", 2)
                if len(parts) != 3 or not parts[2].strip():
                    continue
                try:
                    score = float(parts[1])
                except ValueError:
                    continue
                rows.append((f"{name.split('_')[0]}:{parts[0]}", parts[2].strip(), score))
        frame = pd.DataFrame(rows, columns=["id", "text", "score"])
        frame["valence"] = vader_to_mosi(frame["score"].to_numpy())
        frame["source"] = "vader"
        frames.append(frame[COLUMNS])
    return pd.concat(frames, ignore_index=True)


def load_real_text(source: str, shared_dir: str | Path | None) -> pd.DataFrame:
    """The loader for ``source`` ("mosi" or "vader"); a clear error without a shared_dir."""
    if shared_dir is None:
        raise DatasetError(
            f"Text source {source!r} needs the shared data folder.",
            hint="Pass shared_dir (CLI: --shared-dir PATH), or use --text-source templates.",
        )
    if source == "mosi":
        return load_mosi(shared_dir)
    if source == "vader":
        return load_vader(shared_dir)
    raise DatasetError(f"Unknown text source {source!r}.", hint="Use templates, mosi or vader.")


def pick_sentence(pool: pd.DataFrame, target: float, rng: np.random.Generator, *, max_words: int = 12):
    """A row of ``pool`` whose valence is near ``target``, as a :class:`~mmviz.demo.text.Sentence`.

    Only sentences of 3..``max_words`` words are used (so the spoken clip stays under 8 s).
    Picks at random among rows within 0.25 of the target, else the nearest row.
    """
    import html

    from mmviz.demo.text import Sentence

    words = pool["text"].str.split().str.len()
    ok = pool[(words >= 3) & (words <= max_words)]
    if ok.empty:
        raise DatasetError("No sentence of a speakable length in the text source.")
    dist = (ok["valence"] - target).abs().to_numpy()
    close = np.flatnonzero(dist <= 0.25)
    idx = int(rng.choice(close)) if close.size else int(np.argmin(dist))
    row = ok.iloc[idx]
    text = " ".join(html.unescape(str(row["text"])).split())
    return Sentence(text, round(float(row["valence"]), 3), str(row["source"]), str(row["id"]))
