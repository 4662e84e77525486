"""Are the explanations faithful? Checks against a clip set whose answers are known.

On a folder of clips with ``metadata.csv`` (default: the committed demo set, whose columns
``decisive_modality``, ``decisive_span_start/end`` and ``conflict`` say what should decide):

* top-modality agreement: share of clips with a decisive modality where the modality with the
  largest |Shapley value| is that modality;
* span hit rate: share of clips with a decisive span where the top time window (time
  attribution) has its centre inside the span;
* deletion AUC: remove audio/visual steps in order of attribution (most supportive of the
  prediction first, in 10 % slices, baseline "mean"); the curve is the remaining score change
  ``(f_k - f_all_removed) / (f_0 - f_all_removed)``; its area (lower = more faithful) is
  compared with random orders (same seed for every run);
* IG completeness: mean relative gap |delta| / |f(x) - f(baseline)| of integrated gradients.

Word level (the word attribution with its default method, Shapley over words; the metric is
defined in ``bench/word_faithfulness.py``):

* planted phrase holds the top word: on the demo clips whose text decides (``--every-planted``:
  also on every demo clip with a planted evaluative phrase), the share where the word with the
  largest |score| belongs to that phrase;
* word deletion on real CMU-MOSI dev sentences (``<shared>/data/text/mosi_train_valid.csv``,
  mode == dev; skipped when absent), read as text-only clips: words deleted most supporting the
  prediction first (direction = sign of the prediction), removed as the attribution removes
  them, area over the deletion curve vs the mean of ``--word-random-orders`` seeded random
  orders; sentences with under 2 words or |prediction| < 0.1 are excluded (no direction).
  Long runs go in bounded chunks: ``--mosi-start``/``--mosi-limit``, ``--word-results`` and
  ``--value-cache`` files, then ``--word-summary``.

    python bench/faithfulness.py [--clips DIR] [--checkpoint DIR] [--limit N] [--random-orders 3]
                                 [--words-only] [--word-part all|demo|mosi] [--mosi-start N] [--mosi-limit N]
                                 [--word-results FILE] [--value-cache FILE] [--word-summary FILE...]
                                 [--shared-dir ../shared]

Features are extracted once and cached in the results store ($MMVIZ_CACHE/results). Without
a trained checkpoint (default: models/default) the tiny untrained model is used and the
table says so: its numbers only show that the pipeline runs, not that it is faithful.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from mmviz.errors import MmvizError
from mmviz.explain import ClipContext, ExplainSettings, get_explainer
from mmviz.features.ablate import AV, mask_steps
from mmviz.explain.integrated_gradients import completeness_error
from mmviz.records.features import ClipFeatures
from mmviz.inference.runner import DEFAULT_CHECKPOINT, ModelRunner

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = REPO / "mmviz" / "demo" / "clips"
FRACTIONS = np.linspace(0.0, 1.0, 11)


def load_features(path: Path, transcript: str) -> ClipFeatures:
    from mmviz.data.scoring import features_for
    from mmviz.data.store import ResultsStore

    return features_for(path, ResultsStore(), transcript)


def make_runner(checkpoint: str | None, feats: list[ClipFeatures]) -> tuple[ModelRunner, str]:
    ckpt = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if ckpt.exists():
        return ModelRunner.from_checkpoint(ckpt), f"checkpoint {ckpt}"
    if checkpoint:
        raise SystemExit(f"no checkpoint at {ckpt}")
    from mmviz.testing.tiny import tiny_config, tiny_runner

    stats = {}
    for m in ("audio", "visual"):  # normalise with this clip set's statistics, like a trained checkpoint would
        mats = [getattr(f, m) for f in feats if getattr(f, m) is not None]
        v = np.concatenate([t.values for t in mats]) if mats else np.zeros((0, 0))
        stats[f"{m}_features"] = mats[0].names if mats else ()
        stats[f"{m}_mean"] = tuple(float(x) for x in np.nan_to_num(np.nanmean(v, 0))) if mats else ()
        stats[f"{m}_std"] = tuple(float(x) for x in np.nan_to_num(np.nanstd(v, 0), nan=1.0) + 1e-6) if mats else ()
    cfg = tiny_config(**stats)
    return tiny_runner(cfg), f"TINY UNTRAINED MODEL (no checkpoint at {ckpt}): numbers show the pipeline runs, not faithfulness"


def deletion_curves(ctx: ClipContext, time_attr, rng: np.random.Generator, n_random: int) -> tuple[float, float] | None:
    """(AUC of the attribution order, mean AUC of random orders), or None when nothing changes."""
    steps = [(c.modality, i, v) for c in time_attr for i, v in enumerate(c.values)]
    if not steps:
        return None
    f0 = ctx.prediction
    everything = _masked(ctx, [(m, i) for m, i, _ in steps])
    f_all = ctx.predict([everything])[0]
    span = f0 - f_all
    if abs(span) < 1e-3:
        return None
    sign = np.sign(span)
    order = sorted(range(len(steps)), key=lambda k: -sign * steps[k][2])
    orders = [order] + [list(rng.permutation(len(steps))) for _ in range(n_random)]
    clips = []
    for o in orders:
        for frac in FRACTIONS:
            k = int(round(frac * len(steps)))
            clips.append(_masked(ctx, [(steps[j][0], steps[j][1]) for j in o[:k]]))
    preds = ctx.predict(clips).reshape(len(orders), len(FRACTIONS))
    curves = (preds - f_all) / span
    aucs = np.trapezoid(curves, FRACTIONS, axis=1) if hasattr(np, "trapezoid") else np.trapz(curves, FRACTIONS, axis=1)
    return float(aucs[0]), float(aucs[1:].mean())


def _masked(ctx: ClipContext, which: list[tuple[str, int]]) -> ClipFeatures:
    clip = ctx.features
    for m in AV:
        idx = [i for mm, i in which if mm == m]
        if idx:
            clip = mask_steps(clip, m, np.asarray(idx), "mean")
    return clip


def word_checks(runner: ModelRunner, rows: list[dict], feats: list[ClipFeatures], settings: ExplainSettings, args) -> None:
    """The word-level rows (the metric is defined in ``bench/word_faithfulness.py``)."""
    import word_faithfulness as wf

    print(f"\n## Word attributions ({settings.word_method}, estimator {settings.word_estimator!r}"
          + (f" ({settings.word_samples} orders)" if settings.word_estimator == "permutations" else "") + ", "
          f"exact up to {settings.word_exact_max} words when cheaper, removal {settings.word_baseline!r})\n")
    print("| check | value | clips |\n|---|---|---|")
    if args.word_summary:
        wf.summarise(wf.load_results(args.word_summary), args.word_random_orders)
        return
    t0 = time.perf_counter()
    if args.word_part in ("all", "demo"):
        d = wf.demo_rows(runner, rows, feats, settings, every_planted=args.every_planted)
        share = lambda x: f"{np.mean(x):.2f}" if len(x) else "n/a"  # noqa: E731
        print(f"| planted phrase holds the top word, text-decisive demo clips | {share(d['decisive'])} | {len(d['decisive'])} |")
        if args.every_planted:
            print(f"| planted phrase holds the top word, every demo clip with a planted phrase | {share(d['planted'])} | "
                  f"{len(d['planted'])} |")
        for m_ in d["misses"]:
            print(f"word miss {m_}")
    t_demo = time.perf_counter() - t0
    if args.word_part in ("all", "mosi"):
        recs = wf.mosi_rows(runner, settings, args)
        if recs:
            wf.summarise(recs, args.word_random_orders)
    print(f"\nword rows in {time.perf_counter() - t0:.0f} s (demo part {t_demo:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default=str(DEFAULT_CLIPS))
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips")
    ap.add_argument("--random-orders", type=int, default=3)
    ap.add_argument("--ig-steps", type=int, default=16)
    ap.add_argument("--word-steps", type=int, default=ExplainSettings.word_steps,
                    help="integrated-gradients steps of the word attribution when --word-method integrated_gradients")
    ap.add_argument("--word-method", default=ExplainSettings.word_method, choices=["shapley", "integrated_gradients"])
    ap.add_argument("--word-samples", type=int, default=ExplainSettings.word_samples)
    ap.add_argument("--word-estimator", default=ExplainSettings.word_estimator, choices=["auto", "ends", "permutations"])
    ap.add_argument("--words-only", action="store_true", help="only the word-level rows")
    ap.add_argument("--word-part", default="all", choices=["all", "demo", "mosi"],
                    help="which word rows: planted phrase on demo clips, MOSI dev deletion, or both")
    ap.add_argument("--every-planted", action="store_true",
                    help="also the planted-phrase row over every demo clip with a phrase (not only text-decisive)")
    ap.add_argument("--mosi-start", type=int, default=0, help="first MOSI dev sentence (file order)")
    ap.add_argument("--mosi-limit", type=int, default=0, help="only N MOSI dev sentences from --mosi-start (0 = all 225)")
    ap.add_argument("--word-random-orders", type=int, default=6, help="random deletion orders per sentence")
    ap.add_argument("--word-results", default="", help="append per-sentence MOSI records to this JSON-lines file")
    ap.add_argument("--value-cache", default="",
                    help="file remembering word-coalition scores, so a sentence cut off by a time limit resumes")
    ap.add_argument("--word-summary", nargs="+", default=None,
                    help="only print the MOSI rows from per-sentence JSON-lines files of earlier chunked runs")
    ap.add_argument("--shared-dir", default=str(REPO.parent / "shared"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    clips_dir = Path(args.clips)
    with open(clips_dir / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if args.limit:
        rows = rows[: args.limit]
    t0 = time.perf_counter()
    feats = []
    for r in rows:
        feats.append(load_features(clips_dir / r["file"], r.get("transcript", "")))
    print(f"features for {len(feats)} clips ready in {time.perf_counter() - t0:.0f} s", flush=True)
    runner, model_note = make_runner(args.checkpoint, feats)
    settings = ExplainSettings(seed=args.seed, ig_steps=args.ig_steps, word_steps=args.word_steps,
                               word_method=args.word_method, word_samples=args.word_samples,
                               word_estimator=args.word_estimator)
    rng = np.random.default_rng(args.seed)
    if args.words_only:
        print(f"\n{model_note}")
        word_checks(runner, rows, feats, settings, args)
        return
    top_hits, span_hits, del_attr, del_rand, complete, deltas, skipped = [], [], [], [], [], [], []
    by_group: dict[str, list[bool]] = {}  # top-modality hits per decisive modality and per scenario
    misses: list[str] = []
    sh, ig, ta = get_explainer("shapley"), get_explainer("integrated_gradients"), get_explainer("time_attribution")
    t0 = time.perf_counter()
    for r, fe in zip(rows, feats):
        try:
            ctx = ClipContext.build(runner, fe, settings)
        except MmvizError as e:
            skipped.append(f"{r['clip_id']}: {e.message}")
            continue
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            s = sh.explain(runner, fe, context=ctx)
            g = ig.explain(runner, fe, context=ctx)
            t = ta.explain(runner, fe, context=ctx)
        decisive = (r.get("decisive_modality") or "none").strip()
        if decisive in ("text", "audio", "visual"):
            top_hits.append(s.top == decisive)
            by_group.setdefault(f"decisive {decisive}", []).append(s.top == decisive)
            by_group.setdefault(f"scenario {r.get('scenario') or '?'}", []).append(s.top == decisive)
            if s.top != decisive:
                misses.append(f"{r['clip_id']}: planted {decisive}, top {s.top} ("
                              + ", ".join(f"{m} {v:+.2f}" for m, v in s.values.items()) + f"; f(x) {ctx.prediction:+.2f})")
        a, b = r.get("decisive_span_start", ""), r.get("decisive_span_end", "")
        if a and b and t.top_window is not None:
            _, ws, we = t.top_window
            span_hits.append(float(a) <= (ws + we) / 2 <= float(b))
        d = deletion_curves(ctx, t, rng, args.random_orders)
        if d is not None:
            del_attr.append(d[0])
            del_rand.append(d[1])
        complete.append(completeness_error(g))
        for path, dlt in g.deltas.items():
            gap = abs(g.prediction - g.path_baselines[path])
            deltas.append((path, abs(dlt) / gap if gap > 1e-9 else 0.0))
    elapsed = time.perf_counter() - t0

    def share(x):
        return f"{np.mean(x):.2f}" if x else "n/a"

    def median(x):
        return f"{np.median(x):.2f}" if x else "n/a"

    print(f"\n## Faithfulness on {clips_dir} ({len(rows)} clips), {model_note}\n")
    print("| check | value | clips |\n|---|---|---|")
    print(f"| top Shapley modality == decisive_modality | {share(top_hits)} | {len(top_hits)} |")
    print(f"| top time window centre inside decisive span | {share(span_hits)} | {len(span_hits)} |")
    print(f"| deletion AUC, attribution order (median; lower = better) | {median(del_attr)} | {len(del_attr)} |")
    print(f"| deletion AUC, random order (median) | {median(del_rand)} | {len(del_rand)} |")
    print(f"| attribution order beats random (share of clips) | {share([a < b for a, b in zip(del_attr, del_rand)])} | {len(del_attr)} |")
    print(f"| IG relative completeness error, worst path (median) | {median(complete)} | {len(complete)} |")
    for path in ("audio+visual", "text"):
        errs = [e for p_, e in deltas if p_ == path]
        print(f"| IG relative completeness error, {path} path (median) | {median(errs)} | {len(errs)} |")
    print("\n| top modality agreement by group | value | clips |\n|---|---|---|")
    for g_ in sorted(by_group):
        print(f"| {g_} | {share(by_group[g_])} | {len(by_group[g_])} |")
    for m_ in misses:
        print(f"miss {m_}")
    print(f"\nexplained in {elapsed:.0f} s; settings: IG {settings.ig_steps} steps, words {settings.word_steps} steps, "
          f"baseline {settings.baseline}, seed {settings.seed}; chance level for the top modality is about 0.33")
    for s_ in skipped:
        print(f"skipped {s_}")
    word_checks(runner, rows, feats, settings, args)


if __name__ == "__main__":
    main()
