"""Word-level faithfulness rows of ``bench/faithfulness.py`` (planted phrase; MOSI dev word deletion).

**Planted phrase.** On the demo clips whose text decides (and, second row, on every demo clip
with a planted evaluative phrase such as "really disappointing"), the share where the word with
the largest |score| belongs to that phrase.

**Word deletion on real sentences** (CMU-MOSI dev, ``<shared>/data/text/mosi_train_valid.csv``,
``mode == dev``, in file order, read as text-only clips). The metric, per sentence:

* direction ``s = sign(f(all words))``: the prediction's sentiment (0 is neutral on the
  [-3, 3] scale). "Supporting the prediction" means pushing the score further in direction s.
* attribution order: words by ``s * score`` descending (most supporting first; ties keep
  transcript order). Random orders: ``R`` uniform permutations (seeded), averaged.
* each order deletes words cumulatively **with the attribution's own removal** (``"drop"``:
  the words' tokens are taken out of the token sequence, exactly the coalitions the Shapley
  game evaluates), audio and video as the clip has them (none here).
* curve ``g_k = s * f(sentence without its first k words)``, k = 0..n (for sentences over 10
  words, k at every 10 % of the words: 10 points, so a long sentence costs no more passes per
  order than a 10-word one); score of an order = area over the curve
  ``AOPC = mean over the points k > 0 of (g_0 - g_k)``: how far the deletions moved the
  score against the prediction (higher = the order found the supporting words first). Every
  order starts at f(all) and ends at f(no words), so the areas are comparable within a
  sentence without any normalisation.
* the attribution **beats random** when its AOPC exceeds the mean AOPC of the R random orders.
  We also report the share of individual random orders it beats and the median margin.

Exclusion rule (stated in the output, applied to every sentence before looking at any
attribution): a sentence is left out when it has fewer than 2 words the model reads, or when
``|f(all words)| < --min-direction`` (default 0.1 on the [-3, 3] scale): such a prediction has no
direction for words to support. Sentences where words barely move the score are *not*
excluded; they are counted and reported separately (``|f(all) - f(none)| < 0.1``), because
there the random orders and the attribution differ mostly by noise.

Per-sentence results can be appended to a JSON-lines file (``--word-results``) so a long
measurement can run in bounded chunks (``--mosi-start``/``--mosi-limit``) and be summarised
once at the end (``--word-summary FILE``).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from mmviz.explain import ClipContext, ExplainSettings, get_explainer
from mmviz.records.features import ClipFeatures, MediaInfo, Word

MIN_DIRECTION = 0.1  # |f(all words)| below this: the prediction has no direction (excluded)
WORDS_MATTER = 0.1  # |f(all) - f(none)| below this: words barely move the score (reported apart)
CURVE_POINTS = 10  # deletion curve measured after every word up to this many words, else at every 10 % of them


def planted_phrase(transcript: str) -> tuple[int, ...]:
    """Word indices of the evaluative phrase planted in a demo transcript (longest match), or ()."""
    from mmviz.demo.text import EVALUATIVE

    words = transcript.split()
    for phrase in sorted(EVALUATIVE, key=lambda p: -len(p.split())):
        pw = phrase.split()
        for i in range(len(words) - len(pw) + 1):
            if words[i : i + len(pw)] == pw:
                return tuple(range(i, i + len(pw)))
    return ()


def word_scores(runner, fe: ClipFeatures, settings: ExplainSettings, ctx: ClipContext | None = None):
    """(context, WordAttributions) of one clip with ``settings``' word method (``ctx``: reuse its shared passes)."""
    ctx = ctx or ClipContext.build(runner, fe, settings)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        return ctx, get_explainer("word_attribution").explain(runner, fe, settings, context=ctx)


def text_clip(i: int, text: str) -> ClipFeatures:
    """A text-only clip of a sentence (words evenly spread, 0.4 s each)."""
    words = text.split()
    dur = max(1.0, 0.4 * len(words))
    ws = tuple(Word(w, k * dur / len(words), (k + 1) * dur / len(words), estimated=True) for k, w in enumerate(words))
    media = MediaInfo(f"mosi_dev_{i}.txt", "text only", dur, dur, False, False)
    return ClipFeatures(f"mosi_dev_{i}", hashlib.sha256(text.encode()).hexdigest(), None, None, ws, "typed", media, {})


def deletion_points(n: int, max_points: int = CURVE_POINTS) -> np.ndarray:
    """Numbers of deleted words at which the curve is measured: every k up to ``max_points`` words, else
    ``max_points`` evenly spaced shares of the sentence (10 %, 20 %, …, 100 %), 0 first."""
    if n <= max_points:
        return np.arange(n + 1)
    return np.unique(np.concatenate([[0], np.round(np.arange(1, max_points + 1) * n / max_points).astype(int)]))


def excluded(n_words: int, prediction: float) -> str:
    """Why a sentence is left out of the deletion check ("" when it is kept): the stated rule, nothing else."""
    if n_words < 2:
        return "fewer than 2 words"
    if abs(prediction) < MIN_DIRECTION:
        return f"|prediction| < {MIN_DIRECTION}"
    return ""


def deletion_record(ctx: ClipContext, wa, rng: np.random.Generator, n_random: int, removal: str) -> dict:
    """One sentence's deletion comparison (see the module docstring); ``excluded`` says why when left out."""
    from mmviz.explain.word_attribution import token_to_word
    from mmviz.explain.word_shapley import WordGame, text_tokens

    ids = text_tokens(ctx)
    tw = token_to_word(ctx.features.transcript, wa.words, ids, ctx.runner.tokenizer, ctx.model.cfg.max_text_tokens)
    game = WordGame(ctx, ids, tw, removal)
    n = game.n
    f_all, f_none = float(wa.prediction), float(wa.baseline_prediction)
    rec = {"n_words": n, "f_all": f_all, "f_none": f_none, "estimator": wa.estimator, "samples": int(wa.samples),
           "sum_scores": float(np.sum(wa.scores)), "completeness_gap": abs(float(np.sum(wa.scores)) - (f_all - f_none))}
    if n < 2:
        return rec | {"excluded": "fewer than 2 words"}
    s = float(np.sign(f_all))
    score = np.asarray(wa.scores, dtype=np.float64)[game.players]
    orders = [np.argsort(-s * score, kind="stable")] + [rng.permutation(n) for _ in range(n_random)]
    ks = deletion_points(n)  # (P,) words deleted at each point of the curve, 0 first
    masks = []
    for o in orders:
        for k in ks:
            keep = np.ones(n, dtype=bool)
            keep[o[:k]] = False
            masks.append(keep)
    f = game.values(np.asarray(masks)).reshape(len(orders), len(ks))
    g = s * f  # (orders, P)
    aopc = (g[:, :1] - g[:, 1:]).mean(1)  # (orders,)
    rand = aopc[1:]
    return rec | {"excluded": "", "direction": s, "aopc": float(aopc[0]), "aopc_random": float(rand.mean()),
                  "aopc_random_std": float(rand.std(ddof=1)) if len(rand) > 1 else float("nan"),
                  "beats_random_orders": float((aopc[0] > rand).mean()),
                  "curve": [float(v) for v in f[0]], "words_matter": abs(f_all - f_none) >= WORDS_MATTER}


def install_value_cache(path: str | Path, checkpoint_hash: str, piece: int = 16) -> None:
    """Remember every word-coalition value on disk, so a sentence cut off by a run's time limit resumes.

    Bench only: wraps ``WordGame.values`` (deterministic: the same kept tokens, removal, audio/video
    and checkpoint give the same score) and evaluates new coalitions in pieces of ``piece``, each
    appended to ``path`` as soon as it is computed. The attribution and the deletion curves are
    exactly what they would be without it; only repeated work is skipped.
    """
    from mmviz.explain.word_shapley import WordGame

    path = Path(path)
    cache: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            if v:
                cache[k] = float(v)
    orig = WordGame.values

    def values(self, coalitions):
        c = np.asarray(coalitions, dtype=bool).reshape(-1, self.n)
        av = self.ctx.x
        base = hashlib.sha1(self.token_ids.tobytes() + self.removal.encode() + checkpoint_hash.encode()
                            + av.audio.cpu().numpy().tobytes() + av.visual.cpu().numpy().tobytes()).hexdigest()[:20]
        keys = [base + np.packbits(row).tobytes().hex() for row in c]
        todo = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in cache}.values())  # first of each new key
        for start in range(0, len(todo), piece):
            idx = todo[start : start + piece]
            vals = orig(self, c[idx])
            with open(path, "a") as fh:
                for i, v in zip(idx, vals):
                    cache[keys[i]] = float(v)
                    fh.write(f"{keys[i]} {float(v)!r}\n")
        return np.array([cache[k] for k in keys], dtype=np.float64)

    WordGame.values = values


def mosi_sentences(shared_dir: str | Path) -> list[str] | None:
    """MOSI dev sentences in file order (empty texts left out), or None when the file is absent."""
    import pandas as pd

    path = Path(shared_dir) / "data" / "text" / "mosi_train_valid.csv"
    if not path.exists():
        return None
    dev = pd.read_csv(path)
    dev = dev[dev["mode"] == "dev"]
    return [str(t).strip() for t in dev["text"] if isinstance(t, str) and str(t).strip()]


def mosi_rows(runner, settings: ExplainSettings, args) -> list[dict]:
    """Per-sentence deletion records of MOSI dev sentences ``--mosi-start`` .. ``+--mosi-limit``."""
    texts = mosi_sentences(args.shared_dir)
    if texts is None:
        print(f"\nMOSI dev word deletion: skipped (no mosi_train_valid.csv under {args.shared_dir})")
        return []
    if getattr(args, "value_cache", ""):
        install_value_cache(args.value_cache, runner.checkpoint_hash)
    start = int(args.mosi_start)
    stop = len(texts) if not args.mosi_limit else min(len(texts), start + int(args.mosi_limit))
    out = []
    for i in range(start, stop):
        t0 = time.perf_counter()
        fe = text_clip(i, texts[i])
        ctx = ClipContext.build(runner, fe, settings)
        why = excluded(len(fe.words), ctx.prediction)  # decided before any attribution is computed
        if why:
            rec = {"i": i, "text": texts[i], "n_words": len(fe.words), "f_all": float(ctx.prediction), "excluded": why}
        else:
            ctx, wa = word_scores(runner, fe, settings, ctx)
            rng = np.random.default_rng([int(args.seed), i])  # each sentence its own stream: chunks give the same orders
            rec = {"i": i, "text": texts[i]} | deletion_record(ctx, wa, rng, args.word_random_orders, settings.word_baseline)
        rec["seconds"] = time.perf_counter() - t0
        out.append(rec)
        if args.word_results:
            with open(args.word_results, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
        print(f"  sentence {i}: {rec['n_words']} words, f {rec['f_all']:+.2f}, "
              + (f"excluded ({rec['excluded']})" if rec["excluded"] else
                 f"AOPC {rec['aopc']:+.3f} vs random {rec['aopc_random']:+.3f}")
              + f" [{rec['seconds']:.0f} s]", flush=True)
    return out


def demo_rows(runner, rows: list[dict], feats: list[ClipFeatures], settings: ExplainSettings, *,
              every_planted: bool = False) -> dict:
    """Planted-phrase hits on the text-decisive demo clips (and on every clip with a phrase when ``every_planted``)."""
    decisive, planted, misses = [], [], []
    for r, fe in zip(rows, feats):
        phrase = planted_phrase(r.get("transcript", ""))
        if not phrase or not fe.words or tuple(w.text for w in fe.words) != tuple(r["transcript"].split()):
            continue
        text_decides = (r.get("decisive_modality") or "").strip() == "text"
        if not text_decides and not every_planted:
            continue
        _, wa = word_scores(runner, fe, settings)
        top = int(np.argmax(np.abs(wa.scores)))
        hit = top in phrase
        planted.append(hit)
        if text_decides:
            decisive.append(hit)
        if not hit:
            misses.append(f"{r['clip_id']} {r['transcript']!r}: top word {wa.words[top]!r} "
                          + " ".join(f"{w}{s:+.2f}" for w, s in wa))
    return {"decisive": decisive, "planted": planted, "misses": misses}


def summarise(recs: list[dict], n_random: int | None = None) -> None:
    """The MOSI rows of the table, from per-sentence records."""
    kept = [r for r in recs if not r["excluded"]]
    excl: dict[str, int] = {}
    for r in recs:
        if r["excluded"]:
            excl[r["excluded"]] = excl.get(r["excluded"], 0) + 1
    beat = [r["aopc"] > r["aopc_random"] for r in kept]
    matter = [r for r in kept if r["words_matter"]]
    est: dict[str, int] = {}
    for r in kept:
        est[r["estimator"]] = est.get(r["estimator"], 0) + 1

    def share(x):
        return f"{np.mean(x):.2f}" if len(x) else "n/a"

    def med(x):
        return f"{np.median(x):+.3f}" if len(x) else "n/a"

    rng_txt = f"{n_random} random orders" if n_random else "random orders"
    print(f"| MOSI dev: word deletion (AOPC, most supporting first) beats the mean of {rng_txt} | {share(beat)} | {len(kept)} |")
    print(f"| ... on sentences whose words move the score by >= {WORDS_MATTER} | "
          f"{share([r['aopc'] > r['aopc_random'] for r in matter])} | {len(matter)} |")
    print(f"| MOSI dev: share of individual random orders beaten (mean) | "
          f"{share([r['beats_random_orders'] for r in kept])} | {len(kept)} |")
    print(f"| MOSI dev: AOPC attribution / random (median) | {med([r['aopc'] for r in kept])} / "
          f"{med([r['aopc_random'] for r in kept])} | {len(kept)} |")
    print(f"| MOSI dev: completeness gap, abs(Σ scores − (f(all) − f(none))) (max) | "
          f"{max((r['completeness_gap'] for r in kept), default=float('nan')):.2e} | {len(kept)} |")
    print(f"\n{len(recs)} MOSI dev sentences in file order (kept ones by {', '.join(f'{v} {k}' for k, v in est.items())}); "
          f"excluded: {', '.join(f'{v} {k}' for k, v in excl.items()) or 'none'}")
    for r in kept:
        if r["aopc"] <= r["aopc_random"]:
            print(f"word deletion loses: #{r['i']} ({r['n_words']} words, f {r['f_all']:+.2f}, f(none) {r['f_none']:+.2f}, "
                  f"{r['estimator']}) AOPC {r['aopc']:+.3f} vs random {r['aopc_random']:+.3f} ± {r['aopc_random_std']:.3f}: "
                  f"{r['text'][:80]!r}")


def load_results(paths: list[str]) -> list[dict]:
    """Per-sentence records from JSON-lines files (later records of the same sentence win)."""
    by_i: dict[int, dict] = {}
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                by_i[int(r["i"])] = r
    return [by_i[k] for k in sorted(by_i)]
