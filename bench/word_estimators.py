"""Which word-Shapley estimator to run by default: accuracy per LM pass against the exact values.

Every coalition of a short real sentence (CMU-MOSI dev, 7-10 words the model reads; text-only
clips, the shipped model) is evaluated once, so the exact Shapley values are known. Each
estimator is then replayed on that table many times (different seeds) at no extra model cost:

* ``permutations k`` — ``k`` antithetic random orders (what the dashboard ran before: k = 6);
* ``ends`` — each word's contribution added to no words and added last (leave-one-word-out),
  averaged; the remainder ``f(all) - f(none) - sum`` is shared out equally. Exact for any game
  whose words interact at most in pairs; 2n + 2 passes, no randomness.
* ``ends + permutations k`` — the ends estimate as a control variate is not used; instead the
  two are averaged with weights by pass count (a plain pooled estimate).

Printed per estimator: LM passes for a 21-word sentence (the explanation benchmark's), mean
|error| / max |exact|, how often the top word (largest |phi|) is the exact top word, Spearman
rank correlation with the exact values, and the largest completeness error (all add up by
construction; printed so that stays checked).

    python bench/word_estimators.py [--shared-dir ../shared] [--sentences 8] [--seeds 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mmviz.explain import ClipContext, ExplainSettings  # noqa: E402
from mmviz.explain.word_attribution import token_to_word  # noqa: E402
from mmviz.explain.word_shapley import (  # noqa: E402
    WordGame, all_coalitions, antithetic_orders, ends_shapley, exact_shapley, permutation_shapley, text_tokens)


def passes(name: str, n: int) -> int:
    if name == "ends":
        return 2 * n + 2
    k = int(name.split()[-1])
    base = k * max(n - 1, 0) + 2
    return base + (2 * n if name.startswith("ends") else 0)


def estimate(name: str, table: np.ndarray, n: int, seed: int) -> np.ndarray:
    lookup = lambda c: table[(np.asarray(c, bool) * (1 << np.arange(n))).sum(1)]  # noqa: E731
    if name == "ends":
        return ends_shapley(lookup, n)[0]
    k = int(name.split()[-1])
    perm = permutation_shapley(lookup, n, antithetic_orders(n, k, seed))[0]
    if name.startswith("ends"):
        e, pk = ends_shapley(lookup, n)[0], k * max(n - 1, 0)
        return (e * 2 * n + perm * pk) / (2 * n + pk)
    return perm


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-dir", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--sentences", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--min-words", type=int, default=7)
    ap.add_argument("--max-words", type=int, default=10)
    args = ap.parse_args()

    import word_faithfulness as wf
    from faithfulness import make_runner

    texts = wf.mosi_sentences(args.shared_dir)
    if texts is None:
        print(f"skipped: no MOSI dev sentences under {args.shared_dir}")
        return
    runner, where = make_runner(None, [])
    settings = ExplainSettings()
    print(f"## Word Shapley estimators vs exact values ({where}; MOSI dev sentences of "
          f"{args.min_words}-{args.max_words} words; {args.seeds} seeds each)\n")
    names = ["permutations 2", "permutations 4", "permutations 6", "ends", "ends + permutations 2"]
    res = {k: {"err": [], "top": [], "rho": [], "gap": []} for k in names}
    used = 0
    t0 = time.perf_counter()
    for i, text in enumerate(texts):
        if used >= args.sentences:
            break
        fe = wf.text_clip(i, text)
        ctx = ClipContext.build(runner, fe, settings)
        ids = text_tokens(ctx)
        tw = token_to_word(fe.transcript, tuple(w.text for w in fe.words), ids, runner.tokenizer,
                           runner.model.cfg.max_text_tokens)
        game = WordGame(ctx, ids, tw, "drop")
        n = game.n
        if not args.min_words <= n <= args.max_words:
            continue
        t = time.perf_counter()
        table = game.values(all_coalitions(n))
        exact = exact_shapley(table, n)
        if np.abs(exact).max() < 0.05:
            continue  # words barely matter: every estimator's "error" would be noise
        used += 1
        scale = np.abs(exact).max()
        for k in names:
            for seed in range(args.seeds if k != "ends" else 1):
                est = estimate(k, table, n, seed)
                res[k]["err"].append(np.abs(est - exact).mean() / scale)
                res[k]["top"].append(int(np.argmax(np.abs(est)) == np.argmax(np.abs(exact))))
                res[k]["rho"].append(spearman(est, exact))
                res[k]["gap"].append(abs(est.sum() - (table[-1] - table[0])))
        print(f"  sentence {i}: {n} words, 2^{n} coalitions in {time.perf_counter() - t:.0f} s, "
              f"max |phi| {scale:.2f}", flush=True)
    print(f"\n{used} sentences in {time.perf_counter() - t0:.0f} s\n")
    print("| estimator | passes, 21 words | mean abs error / max abs phi | top word right | Spearman | max completeness gap |")
    print("|---|---|---|---|---|---|")
    for k in names:
        r = res[k]
        print(f"| {k} | {passes(k, 21)} | {np.mean(r['err']):.3f} | {np.mean(r['top']):.2f} | "
              f"{np.nanmean(r['rho']):.2f} | {max(r['gap'] or [0]):.1e} |")


if __name__ == "__main__":
    main()
