"""Split a long recording into utterances the model can read whole, and cut its features.

Why: the model reads at most ``max_av_steps`` audio/visual steps (60 s at 0.1 s steps) and
``max_text_tokens`` transcript tokens (64); a longer clip would be cut silently. Here a
recording is tiled into utterances on its own clock, in three deterministic passes:

1. **pauses** — speech is the union of the voiced segments of the ``speaking`` track
   (:func:`mmviz.transcript.align.voiced_segments`) and the transcript's word spans; every
   silence of at least ``min_pause`` seconds between speech ends an utterance (cut at its middle);
2. **merge** — a piece shorter than ``min_seconds`` joins the neighbour across the shorter
   pause, when the joined piece still fits;
3. **split** — a piece longer than the model reads (seconds or tokens) is cut into the fewest
   pieces that fit, at the longest silences and between words (a dynamic programme over cut
   candidates: fewest pieces, then fewest short ones, then the longest silences, then the most
   even lengths), and token counts are checked exactly with the model's tokenizer.

Cut points sit on the step grid (between two step centres), so an utterance of ``max_seconds``
holds exactly ``max_seconds / step`` steps. No randomness: the same features and limits give
the same utterances. :func:`cut_utterances` then turns each span into its own
:class:`ClipFeatures` (times re-based to the utterance start; the offset kept in
``settings["utterance"]`` so pages map back to the recording's clock).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mmviz.records.features import ClipFeatures, TimedMatrix, Word
from mmviz.records.serialize import register_record
from mmviz.transcript.align import voiced_segments

CountTokens = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """A tokenizer-free upper-ish estimate (about 4 characters or 0.75 words per token).

    Pass the model's tokenizer (``ModelRunner.count_tokens``) for exact counts; this default
    keeps the splitter usable on its own (tests, features without a model)."""
    return max(len(text.split()), math.ceil(len(text) / 4)) if text.strip() else 0


@register_record
@dataclass(frozen=True)
class UtteranceLimits:
    """What one utterance may hold, and what counts as a pause.

    max_seconds: longest utterance, seconds (the model's ``max_av_steps`` × step: 60 s).
    max_tokens: most transcript tokens (the model's ``max_text_tokens``: 64).
    min_seconds: pieces shorter than this join a neighbour when the joined piece still fits.
    min_pause: silences at least this long (seconds) between speech end an utterance.
    """

    max_seconds: float = 60.0
    max_tokens: int = 64
    min_seconds: float = 3.0
    min_pause: float = 0.5

    def __post_init__(self) -> None:
        if not (self.max_seconds > 0 and self.max_tokens > 0 and self.min_seconds >= 0 and self.min_pause > 0):
            raise ValueError(f"invalid utterance limits {self}")


@register_record
@dataclass(frozen=True)
class UtteranceSpan:
    """One utterance of a recording, in seconds on the recording's clock.

    start, end: the utterances of a recording tile [clip start, clip end] with no gap or overlap.
    n_words: transcript words whose midpoint falls in [start, end). n_tokens: their tokens.
    cut: why it ends there — "pause" (a silence of at least ``min_pause``), "split" (its speech
        ran longer than the model reads and was cut at the best gap available), "end" (the clip ends).
    long: one of its ends is a "split" (it comes from speech longer than the model reads).
    short: shorter than ``min_seconds`` even after merging (no neighbour could take it).
    """

    start: float
    end: float
    n_words: int
    n_tokens: int
    cut: str
    long: bool = False
    short: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


# ---------------------------------------------------------------- the clip as the splitter sees it
@dataclass(frozen=True)
class _Clip:
    t0: float  # clip start (seconds, clip clock)
    t1: float  # clip end
    grid: float  # step of the cut grid (seconds)
    speech: list[tuple[float, float]]  # merged speech intervals (voiced steps ∪ word spans)
    words: tuple[Word, ...]  # sorted by midpoint
    mids: list[float]
    est: np.ndarray  # prefix sums of per-word token estimates, (n_words + 1,)

    def snap(self, t: float) -> float:
        """``t`` moved to the nearest grid boundary strictly inside the clip."""
        k = round((t - self.t0) / self.grid)
        k = min(max(k, 1), max(1, math.ceil((self.t1 - self.t0) / self.grid - 1e-9) - 1))
        return round(self.t0 + k * self.grid, 6)

    def word_range(self, a: float, b: float, last: bool) -> tuple[int, int]:
        """Indices [i, j) of the words whose midpoint lies in [a, b) ([a, b] for the last piece)."""
        i = bisect.bisect_left(self.mids, a - 1e-9)
        j = len(self.mids) if last else bisect.bisect_left(self.mids, b - 1e-9)
        return i, j

    def silence_at(self, t: float) -> float:
        """Length of the silence around ``t`` (0 inside speech; -1 inside a word)."""
        for w in self.words:
            if w.start + 1e-6 < t < w.end - 1e-6:
                return -1.0
        k = bisect.bisect_right([s for s, _ in self.speech], t)
        prev_end = self.speech[k - 1][1] if k else self.t0
        if k and t < prev_end:
            return 0.0
        nxt = self.speech[k][0] if k < len(self.speech) else self.t1
        return max(0.0, nxt - prev_end)


def _clip_view(feats: ClipFeatures, count_tokens: CountTokens) -> _Clip:
    t0 = float(feats.media.window[0]) if feats.media.window else 0.0
    t1 = t0 + max(float(feats.duration), 0.0)
    mats = [m for m in (feats.audio, feats.visual) if m is not None and m.n_steps]
    grid = float(feats.audio.step) if feats.audio is not None and feats.audio.n_steps else (float(mats[0].step) if mats else 0.1)
    segs: list[tuple[float, float]] = []
    if feats.audio is not None and feats.audio.n_steps and "speaking" in feats.audio.names:
        segs += voiced_segments(feats.audio.column("speaking"), feats.audio.times, feats.audio.step)
    words = tuple(sorted(feats.words, key=lambda w: (w.start + w.end) / 2))
    segs += [(w.start, max(w.end, w.start + 1e-3)) for w in words]
    speech: list[tuple[float, float]] = []
    for a, b in sorted(segs):
        if speech and a <= speech[-1][1] + 1e-9:
            speech[-1] = (speech[-1][0], max(speech[-1][1], b))
        else:
            speech.append((a, b))
    per_word = np.array([count_tokens(" " + w.text) for w in words], dtype=float)
    if len(words) and per_word.sum() > 0:  # calibrate the additive estimate on the whole transcript
        per_word *= count_tokens(" ".join(w.text for w in words)) / per_word.sum()
    est = np.concatenate([[0.0], np.cumsum(per_word)])
    return _Clip(t0, t1, grid, speech, words, [(w.start + w.end) / 2 for w in words], est)


# ---------------------------------------------------------------- public API
def split_utterances(feats: ClipFeatures, limits: UtteranceLimits | None = None, *,
                     count_tokens: CountTokens = estimate_tokens) -> tuple[UtteranceSpan, ...]:
    """Tile the clip into utterances that each fit ``limits`` (see the module doc for the passes).

    count_tokens: how many model tokens a text is (pass the model's tokenizer; the default is
    an estimate). A piece that cannot fit (one word longer than ``max_tokens``) is kept and the
    model's truncation note will say so.
    """
    limits = limits or UtteranceLimits()
    clip = _clip_view(feats, count_tokens)
    if clip.t1 - clip.t0 <= 0:
        return (UtteranceSpan(clip.t0, clip.t1, len(clip.words), count_tokens(feats.transcript), "end"),)
    # 1. pauses
    cuts: list[tuple[float, str, float]] = []  # (time, kind, pause length)
    for (_, e), (s, _) in zip(clip.speech, clip.speech[1:]):
        if s - e >= limits.min_pause and clip.t0 < (s + e) / 2 < clip.t1:
            c = clip.snap((s + e) / 2)
            if not cuts or c > cuts[-1][0]:
                cuts.append((c, "pause", s - e))
    bounds = [clip.t0] + [c for c, _, _ in cuts] + [clip.t1]
    kinds = [k for _, k, _ in cuts]
    pauses = [p for _, _, p in cuts]

    def fits(a: float, b: float) -> bool:
        return b - a <= limits.max_seconds + 1e-6 and _tokens(clip, a, b, count_tokens) <= limits.max_tokens

    # 2. merge short pieces into the neighbour across the shorter pause
    stuck: set[float] = set()
    while True:
        short = [(bounds[i + 1] - bounds[i], i) for i in range(len(bounds) - 1)
                 if bounds[i + 1] - bounds[i] < limits.min_seconds and bounds[i] not in stuck]
        if not short or len(bounds) == 2:
            break
        _, i = min(short)
        options = []
        if i > 0 and fits(bounds[i - 1], bounds[i + 1]):
            options.append((pauses[i - 1], 0, i - 1))  # drop the cut before piece i
        if i + 1 < len(bounds) - 1 and fits(bounds[i], bounds[i + 2]):
            options.append((pauses[i], 1, i))  # drop the cut after piece i
        if not options:
            stuck.add(bounds[i])
            continue
        _, _, c = min(options)
        del bounds[c + 1], kinds[c], pauses[c]
    # 3. split what is still too long
    out_bounds, out_kinds = [bounds[0]], []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        inner = [] if fits(a, b) else _split(clip, a, b, limits, count_tokens)
        out_bounds += inner + [b]
        out_kinds += ["split"] * len(inner) + [kinds[i] if i < len(kinds) else "end"]
    spans = []
    for i in range(len(out_bounds) - 1):
        a, b = out_bounds[i], out_bounds[i + 1]
        w0, w1 = clip.word_range(a, b, i == len(out_bounds) - 2)
        long = out_kinds[i] == "split" or (i > 0 and out_kinds[i - 1] == "split")
        spans.append(UtteranceSpan(float(a), float(b), w1 - w0, _tokens(clip, a, b, count_tokens, last=i == len(out_bounds) - 2),
                                   out_kinds[i], long, b - a < limits.min_seconds - 1e-9))
    return tuple(spans)


def cut_utterances(feats: ClipFeatures, spans: tuple[UtteranceSpan, ...]) -> tuple[ClipFeatures, ...]:
    """One ClipFeatures per span: steps whose centre lies in [start, end) and words whose midpoint
    does, with times re-based to the span's start (word times clipped to it).

    Each piece has its own content hash (derived from the recording's and the span), a clip id
    naming the span, and ``settings["utterance"] = {"of", "index", "start", "end"}``
    (:func:`utterance_offset` reads the start back)."""
    out = []
    for i, sp in enumerate(spans):
        last = i == len(spans) - 1
        a, b = sp.start, sp.end
        dur = b - a
        words = tuple(Word(w.text, round(min(max(w.start - a, 0.0), dur), 6), round(min(max(w.end - a, 0.0), dur), 6), w.estimated)
                      for w in feats.words if a - 1e-9 <= (w.start + w.end) / 2 and ((w.start + w.end) / 2 < b - 1e-9 or last))
        h = hashlib.sha256(f"{feats.content_hash}|utterance|{a:.6f}|{b:.6f}".encode()).hexdigest()
        media = dataclasses.replace(feats.media, duration_claimed=dur, duration_decoded=dur, window=None,
                                    frames_claimed=None, frames_decoded=None)
        settings = {**feats.settings, "utterance": {"of": feats.content_hash, "index": i, "start": a, "end": b}}
        out.append(ClipFeatures(
            clip_id=f"{feats.clip_id} · {a:.1f}–{b:.1f} s", content_hash=h,
            audio=_slice(feats.audio, a, b, last), visual=_slice(feats.visual, a, b, last), words=words,
            transcript_source=feats.transcript_source,
            media=media, settings=settings))
    return tuple(out)


def utterance_offset(feats: ClipFeatures) -> float:
    """Seconds to add to a piece's times to get the recording's clock (0 for a whole clip)."""
    u = (feats.settings or {}).get("utterance")
    return float(u["start"]) if isinstance(u, dict) and "start" in u else 0.0


# ---------------------------------------------------------------- helpers
def _slice(m: TimedMatrix | None, a: float, b: float, last: bool) -> TimedMatrix | None:
    if m is None:
        return None
    keep = (m.times >= a - 1e-6) & ((m.times < b - 1e-6) | last)
    return TimedMatrix(np.ascontiguousarray(m.values[keep]), m.names, m.times[keep] - a, m.step)


def _tokens(clip: _Clip, a: float, b: float, count_tokens: CountTokens, last: bool | None = None) -> int:
    """Exact token count of the words of [a, b) (the model reads them joined by spaces)."""
    i, j = clip.word_range(a, b, (b >= clip.t1 - 1e-9) if last is None else last)
    return count_tokens(" ".join(w.text for w in clip.words[i:j])) if j > i else 0


def _split(clip: _Clip, a: float, b: float, limits: UtteranceLimits,
           count_tokens: CountTokens) -> list[float]:
    """Inner cut times that split [a, b] into pieces that fit (exact token check, shrinking the
    estimate's budget when the tokenizer disagrees with it)."""
    budget = float(limits.max_tokens)
    for _ in range(6):
        cuts = _best_cuts(clip, a, b, limits, budget)
        edges = [a] + cuts + [b]
        worst = max(_tokens(clip, x, y, count_tokens) for x, y in zip(edges, edges[1:]))
        if worst <= limits.max_tokens:
            return cuts
        budget *= limits.max_tokens / worst * 0.98
    return cuts


def _best_cuts(clip: _Clip, a: float, b: float, limits: UtteranceLimits, budget: float) -> list[float]:
    """The fewest-pieces cut of [a, b] (dynamic programme over candidate cut times)."""
    last = b >= clip.t1 - 1e-9
    cands = {clip.snap((s + e) / 2) for (_, e), (s, _) in zip(clip.speech, clip.speech[1:])}  # every silence
    cands |= {clip.snap((w.end + v.start) / 2) for w, v in zip(clip.words, clip.words[1:])}  # every word boundary
    n_grid = int((b - a) / clip.grid)
    stride = max(1, int(round(1.0 / clip.grid)))  # and a cut every second, for speech with no gap at all
    cands |= {round(a + k * clip.grid, 6) for k in range(stride, n_grid, stride)}
    pos = [a] + sorted(c for c in cands if a + clip.grid / 2 < c < b - clip.grid / 2) + [b]
    score = [0.0] + [min(clip.silence_at(c), 2.0) for c in pos[1:-1]] + [0.0]
    tok = [clip.est[clip.word_range(p, p, False)[0]] for p in pos[:-1]] + [clip.est[-1] if last else clip.est[clip.word_range(b, b, False)[0]]]
    inf = (math.inf,) * 4
    for use_tokens in (True, False):  # a piece that cannot fit its tokens (one huge word): fit time only
        best: list[tuple] = [(0, 0, 0.0, 0.0)] + [inf] * (len(pos) - 1)
        back = [0] * len(pos)
        for j in range(1, len(pos)):
            for i in range(j - 1, -1, -1):
                d = pos[j] - pos[i]
                if d > limits.max_seconds + 1e-6:
                    break
                if best[i][0] == math.inf or (use_tokens and tok[j] - tok[i] > budget + 1e-6):
                    continue
                cand = (best[i][0] + 1, best[i][1] + (d < limits.min_seconds), round(best[i][2] - score[j], 6), best[i][3] + d * d)
                if cand < best[j]:
                    best[j], back[j] = cand, i
        if best[-1][0] != math.inf:
            break
    if best[-1][0] == math.inf:  # no candidate within reach (max_seconds under one second): even pieces
        n = math.ceil((b - a) / limits.max_seconds)
        return [clip.snap(a + (b - a) * k / n) for k in range(1, n)]
    cuts, j = [], len(pos) - 1
    while j:
        j = back[j]
        if j:
            cuts.append(pos[j])
    return sorted(cuts)
