"""Shapley values over the transcript's words: word attributions that add up.

The players are the transcript's words (those the model reads: words past ``max_text_tokens``
are not players and score 0). The value of a coalition S is the fused prediction with audio
and video as they are and every word outside S *removed* (``settings.word_baseline``):

* "drop" (default): its tokens are taken out of the token sequence, so the LM reads the kept
  words only, at consecutive positions; no words at all is the empty transcript, which is how
  :func:`mmviz.features.ablate.remove` removes the whole transcript. Then
  ``sum(phi) == f(all words) - f(no words)`` and f(no words) is the modality Shapley
  coalition "audio+visual".
* "pad": its tokens are replaced by the pad token (positions kept), the integrated-gradients
  baseline, for comparison.

Why Shapley and not leave-one-word-out occlusion: occlusion scores do not add up (two words
that say the same thing each look useless when the other is present); Shapley values are the
one attribution that is additive, symmetric and gives a word that never matters exactly 0.

Estimators:

* **exact** — every one of the 2^W coalitions is evaluated and
  ``phi_i = sum_{S not containing i} |S|! (W-|S|-1)! / W! * (v(S + i) - v(S))`` in float64.
  Used when W <= ``settings.word_exact_max`` and 2^W <= max(64, the passes sampling would
  take): up to 6 words by default, up to 10 when ``word_samples`` is raised to 128.
* **permutations** — ``settings.word_samples`` random orders of the words (antithetic: each
  order and its reverse, seeded by ``settings.seed``); a word's score is the mean of its
  marginal contributions. Each order's contributions telescope to f(all) - f(none), so the
  scores add up exactly whatever the sample; each word's standard error is the spread of the
  antithetic pair means / sqrt(pairs).

Cost: every coalition is a different text, so each needs its own LM pass over its kept tokens
(plus the fusion tokens). Coalitions are evaluated in batches of ``settings.batch_size``,
sorted by length so little padding is read; the audio-visual inputs are the clip's own,
shared by every coalition.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
import torch

from mmviz.explain.base import ClipContext, register_pass, with_av
from mmviz.inference.batching import tokenize
from mmviz_models.fusion import TextPrefix


@dataclass(frozen=True)
class WordShapley:
    """Result of the word Shapley pass (internal; the record copies what it needs)."""

    token_ids: np.ndarray  # (L,) the tokens the LM reads
    token_word: np.ndarray  # (L,) word index of each token (-1: none)
    scores: np.ndarray  # (W,) float64, 0 for words that are not players
    standard_error: np.ndarray  # (W,) float64
    full: float  # f(all words)
    empty: float  # f(no words)
    estimator: str  # "exact" | "ends" | "permutations"
    samples: int  # permutations (0 when exact)
    coalitions: int  # distinct coalitions evaluated
    remainder: float = 0.0  # "ends": what interactions of 3+ words added before it was shared out


def pad_id(tokenizer) -> int:
    pid = getattr(tokenizer, "pad_token_id", None)
    if pid is None:
        pid = getattr(tokenizer, "eos_token_id", None)
    return int(pid if pid is not None else 0)


def owners(token_word: np.ndarray) -> np.ndarray:
    """Each token's word, with tokens of no word (whitespace pieces) given to the next word (else the previous)."""
    out = token_word.copy()
    nxt = -1
    for i in range(len(out) - 1, -1, -1):
        if out[i] >= 0:
            nxt = out[i]
        elif nxt >= 0:
            out[i] = nxt
    prev = -1
    for i in range(len(out)):
        if out[i] >= 0:
            prev = out[i]
        elif prev >= 0:
            out[i] = prev
    return out


class WordGame:
    """The cooperative game of one clip's words: ``values(coalitions) -> f`` batched through the model."""

    def __init__(self, ctx: ClipContext, token_ids: np.ndarray, token_word: np.ndarray, removal: str = "drop") -> None:
        self.ctx = ctx
        self.token_ids = np.asarray(token_ids, dtype=np.int64)
        own = owners(np.asarray(token_word))
        self.players = np.unique(own[own >= 0])  # word indices, in order
        self.token_player = np.searchsorted(self.players, own)  # (L,) player index of each token
        self.removal = removal
        self.pad = pad_id(ctx.runner.tokenizer)
        self.evaluated = 0

    @property
    def n(self) -> int:
        return len(self.players)

    def values(self, coalitions: np.ndarray) -> np.ndarray:
        """f of each coalition, float64 (C,); ``coalitions`` is bool (C, n): which words are kept."""
        coalitions = np.asarray(coalitions, dtype=bool).reshape(-1, self.n)
        keep = coalitions[:, self.token_player] if len(self.token_ids) else np.zeros((len(coalitions), 0), bool)  # (C, L)
        lengths = keep.sum(1) if self.removal == "drop" else np.full(len(keep), keep.shape[1])
        order = np.argsort(lengths, kind="stable")  # similar lengths share a batch: little padding
        out = np.empty(len(keep), dtype=np.float64)
        bs = max(1, int(self.ctx.settings.batch_size))
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            out[idx] = self._predict(keep[idx], int(lengths[idx].max()))
        self.evaluated += len(keep)
        return out

    def _predict(self, keep: np.ndarray, width: int) -> np.ndarray:
        B, width = len(keep), max(width, 1)
        ids = np.full((B, width), self.pad, dtype=np.int64)
        mask = np.zeros((B, width), dtype=bool)
        for b, k in enumerate(keep):
            if self.removal == "drop":
                kept = self.token_ids[k]
                if len(kept):
                    ids[b, width - len(kept):] = kept  # left padding, like ``tokenize``
                    mask[b, width - len(kept):] = True
            else:
                ids[b, width - len(k):] = np.where(k, self.token_ids, self.pad)
                mask[b, width - len(k):] = len(k) > 0
        model, x, dev = self.ctx.model, self.ctx.x, self.ctx.device
        with self.ctx.runner.lock, torch.inference_mode():
            prefix: TextPrefix = model.precompute_fusion(
                model.encode_text(torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev)))  # (B, width) text
            xb = with_av(x, x.audio.expand(B, *x.audio.shape[1:]), x.visual.expand(B, *x.visual.shape[1:]))
            return model(xb, prefix=prefix).pred_fused.double().cpu().numpy()  # (B,)


def exact_shapley(v: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values from the values of all 2^n coalitions (index bit i set = player i kept)."""
    w = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)], dtype=np.float64)
    masks = np.arange(2**n)
    size = np.array([bin(m).count("1") for m in masks])
    phi = np.zeros(n, dtype=np.float64)
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = float(np.sum(w[size[without]] * (v[without | (1 << i)] - v[without])))
    return phi


def all_coalitions(n: int) -> np.ndarray:
    """bool (2^n, n): row m keeps player i when bit i of m is set."""
    m = np.arange(2**n)[:, None]
    return ((m >> np.arange(n)[None]) & 1).astype(bool)


def antithetic_orders(n: int, samples: int, seed: int) -> np.ndarray:
    """int (2 * ceil(samples / 2), n): random orders of the players, each followed by its reverse."""
    rng = np.random.default_rng(seed)
    pairs = max(1, (samples + 1) // 2)
    out = []
    for _ in range(pairs):
        p = rng.permutation(n)
        out += [p, p[::-1]]
    return np.asarray(out)


def permutation_shapley(game_values, n: int, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """(phi, standard error, f(all), f(none), coalitions) from the prefixes of ``orders``.

    ``game_values(bool (C, n)) -> (C,)``; every distinct prefix coalition is evaluated once,
    in one batched call.
    """
    P = len(orders)
    prefix = np.zeros((P, n + 1, n), dtype=bool)  # prefix[p, k] = the first k players of order p
    for p, o in enumerate(orders):
        for k in range(1, n + 1):
            prefix[p, k] = prefix[p, k - 1]
            prefix[p, k, o[k - 1]] = True
    flat = prefix.reshape(-1, n)
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    vals = np.asarray(game_values(uniq), dtype=np.float64)[np.asarray(inverse).reshape(-1)].reshape(P, n + 1)
    marg = np.zeros((P, n), dtype=np.float64)
    for p, o in enumerate(orders):
        marg[p, o] = np.diff(vals[p])
    phi = marg.mean(0)
    pair_means = marg.reshape(-1, 2, n).mean(1)  # antithetic pairs are the independent units
    k = len(pair_means)
    se = pair_means.std(0, ddof=1) / np.sqrt(k) if k > 1 else np.full(n, np.nan)
    none, full = float(vals[0, 0]), float(vals[0, -1])
    return phi, se, full, none, len(uniq)


def ends_shapley(game_values, n: int) -> tuple[np.ndarray, float, float, float, int]:
    """(phi, remainder, f(all), f(none), coalitions): each word added to no words and added last.

    ``phi_i = ((v({i}) - v({})) + (v(all) - v(all - i))) / 2``: the mean of the word's first and
    last marginal contribution (the second is leave-one-word-out). This is the exact Shapley
    value of any game whose players interact at most in pairs (then the last marginal is the
    first plus every pairwise interaction in full, and Shapley gives each interaction half).
    The remainder ``f(all) - f(none) - sum(phi)`` is what interactions of three or more words
    add; it is shared out equally, so the scores add up exactly, and returned so a caller can
    say how large it was. 2n + 2 coalitions, deterministic.
    """
    eye = np.eye(n, dtype=bool)
    coal = np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool), eye, ~eye])  # (2n+2, n)
    uniq, inverse = np.unique(coal, axis=0, return_inverse=True)
    v = np.asarray(game_values(uniq), dtype=np.float64)[np.asarray(inverse).reshape(-1)]
    none, full, single, loo = v[0], v[1], v[2 : 2 + n], v[2 + n :]
    phi = ((single - none) + (full - loo)) / 2.0
    remainder = float((full - none) - phi.sum())
    return phi + remainder / n, remainder, float(full), float(none), len(uniq)


EXACT_ALWAYS = 64  # coalitions: up to 6 words are always enumerated (a few seconds on 2 CPU cores)


#: LM passes the "auto" estimator aims to spend on a transcript's words (~0.1 s each on 2 CPU cores)
AUTO_BUDGET = 64
#: fewest antithetic orders "auto" samples; below that it uses the first-and-last estimate
AUTO_MIN_ORDERS = 6


def auto_orders(n: int) -> int:
    """How many antithetic orders fit ``AUTO_BUDGET`` passes for ``n`` words (even; 0 when fewer than 2)."""
    k = (AUTO_BUDGET - 2) // max(n - 1, 1)
    return k - k % 2 if k >= 2 else 0


def chosen_estimator(n: int, settings) -> tuple[str, int]:
    """(estimator, orders) for ``n`` words under ``settings.word_estimator``.

    "auto" (default): exact when all 2^n coalitions fit the budget (up to 6 words); sampled
    word orders while at least 6 of them fit the budget (up to 11 words); the first-and-last
    estimate beyond. Why both: on real MOSI sentences first-and-last tracked exact values better
    than 6 sampled orders (``bench/word_estimators.py``), but on short template sentences it
    credited a function word ("the" in "so the story was excellent in the end"), because a
    one-word transcript reads oddly to the model and its first marginal carries that; sampled
    orders rarely start a word alone. Long transcripts cannot afford 6 orders (21 words: 122
    passes) and first-and-last costs 2n + 2.
    """
    if use_exact(n, settings):
        return "exact", 0
    if settings.word_estimator == "auto":
        k = auto_orders(n)
        return ("permutations", k) if k >= AUTO_MIN_ORDERS else ("ends", 0)
    return settings.word_estimator, settings.word_samples if settings.word_estimator == "permutations" else 0


def use_exact(n: int, settings) -> bool:
    """Enumerate every coalition when the transcript is short and enumerating is not much dearer than sampling.

    Why not always up to 10 words: each coalition is one LM pass over its words plus the 16
    fusion tokens (~50 ms on 2 CPU cores), so 2^10 of them take close to a minute.
    """
    if settings.word_estimator == "auto":
        sampled = AUTO_BUDGET
    elif settings.word_estimator == "ends":
        sampled = 2 * n + 2
    else:
        pairs = max(1, (settings.word_samples + 1) // 2)
        sampled = 2 * pairs * max(n - 1, 0) + 2  # distinct coalitions sampling would evaluate at most
    return n <= settings.word_exact_max and 2**n <= max(sampled, EXACT_ALWAYS)


def text_tokens(ctx: ClipContext) -> np.ndarray:
    """(L,) the transcript's token ids exactly as the model reads them (truncated to max_text_tokens)."""
    ids, mask = tokenize([ctx.features.transcript], ctx.runner.tokenizer, ctx.model.cfg.max_text_tokens)
    return ids[0].numpy()[mask[0].numpy()]


@register_pass("word_shapley")
def _word_shapley(ctx: ClipContext) -> WordShapley:
    from mmviz.explain.word_attribution import token_to_word

    s = ctx.settings
    words = tuple(w.text for w in ctx.features.words)
    ids = text_tokens(ctx)
    tw = token_to_word(ctx.features.transcript, words, ids, ctx.runner.tokenizer, ctx.model.cfg.max_text_tokens)
    game = WordGame(ctx, ids, tw, s.word_baseline)
    n = game.n
    scores, se = np.zeros(len(words)), np.zeros(len(words))
    if n == 0:
        f = ctx.prediction
        return WordShapley(ids, tw, scores, se, f, f, "exact", 0, 0)
    remainder = 0.0
    estimator, k = chosen_estimator(n, s)
    if estimator == "exact":
        v = game.values(all_coalitions(n))
        phi, err, full, none, samples = exact_shapley(v, n), np.zeros(n), float(v[-1]), float(v[0]), 0
    elif estimator == "ends":
        phi, remainder, full, none, _ = ends_shapley(game.values, n)
        err, samples = np.zeros(n), 0
    else:
        orders = antithetic_orders(n, k, s.seed)
        phi, err, full, none, _ = permutation_shapley(game.values, n, orders)
        estimator, samples = "permutations", len(orders)
    scores[game.players] = phi
    se[game.players] = err
    return WordShapley(ids, tw, scores, se, full, none, estimator, samples, game.evaluated, remainder)
