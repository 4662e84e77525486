"""Explanation speed: ``explain_clip`` on a 10 s clip with the real architecture, part by part,
and t-SNE fit time (openTSNE vs scikit-learn) for the dataset map.

Real architecture (SmolLM2-135M, 30 layers, 16 fusion tokens, 6 blocks) with random fusion
weights (speed does not depend on the trained values); a 10 s clip = 100 audio + 100 visual
steps and a ~25-token transcript. Parts: prediction (one forward with attention collected),
Shapley (8 coalitions, one batched pass), integrated gradients (audio+visual pass + the word
pass it shares), time attribution, word attribution, counterfactuals, attention views, map
placement (openTSNE transform on a 500-clip reference map). The clip is explained twice; the
second (warm) run is reported, the first is shown as "cold total".

    python bench/explain_bench.py [--device cpu|cuda|all] [--quick] [--skip-tsne] [--threads N] [--no-compare]

Unless ``--no-compare``, the clip is also explained with the previous default word attribution
(16-step LayerIntegratedGradients, which was shared with the modality IG text path) in the same
process, and the ratio of the totals is printed: the cost of word scores that add up.

On a machine whose cores are shared with other work, ``--threads 1`` can be several times
faster than 2 threads (each small matmul waits for a descheduled OpenMP thread).

``--quick`` fits t-SNE on 2k / 5k points instead of 5k / 20k. The full run takes ~5-10 minutes
on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mmviz.explain import ExplainSettings, explain_clip
from mmviz.explain.integrated_gradients import completeness_error
from mmviz.inference.runner import ModelRunner
from mmviz.testing.tiny import synthetic_clip
from mmviz_models.backbone import load_backbone
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionModel

AUDIO = tuple(f"a{i}" for i in range(24))
VISUAL = tuple(f"v{i}" for i in range(12))
TEXT = "honestly the story was slow at first but the ending made me smile and i would watch it again with friends"
PARTS = ("prediction", "shapley", "integrated_gradients", "time_attribution", "word_attribution", "counterfactuals",
         "attention_views", "map_placement", "total")


def table(rows: list[tuple[str, str]], head=("measure", "value")) -> None:
    w = max(len(r[0]) for r in rows + [head])
    print(f"| {head[0].ljust(w)} | {head[1]} |\n|{'-' * (w + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(w)} | {v} |")


def real_runner(dev: torch.device) -> ModelRunner:
    cfg = FusionConfig(audio_features=AUDIO, visual_features=VISUAL, dropout=0.0)
    bb = load_backbone(cfg)
    torch.manual_seed(0)
    model = FusionModel(cfg, bb.lm).eval().to(dev)
    return ModelRunner(model, bb.tokenizer, "random-fusion-weights", bb.name, dev)


def reference_map(runner: ModelRunner, n: int = 500):
    from mmviz.explain.embedding_map import fit_map

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(n, runner.model.d_model)).astype(np.float32)
    return fit_map(emb, [f"c{i}" for i in range(n)], space="fused", seed=0)


def bench_explain(dev: torch.device, settings: ExplainSettings, compare: bool = True) -> None:
    runner = real_runner(dev)
    clip = synthetic_clip(0, duration=10.0, text=TEXT, audio_names=AUDIO, visual_names=VISUAL)
    other = synthetic_clip(1, duration=10.0, text="it was fine i guess", audio_names=AUDIO, visual_names=VISUAL)
    x = runner.inputs([clip])
    ref = reference_map(runner)
    t = time.perf_counter()
    explain_clip(runner, clip, settings, reference=ref, other=other)
    cold = time.perf_counter() - t
    e = explain_clip(runner, clip, settings, reference=ref, other=other)
    wa = e.word_attributions
    how = (f"words: Shapley, {wa.estimator}" + (f", {wa.samples} orders" if wa.samples else "") + f", {wa.coalitions} coalitions"
           if wa.method_name == "shapley" else f"words: integrated gradients, {wa.steps} steps")
    print(f"\nclip: {int(x.audio_mask.sum())} audio + {int(x.visual_mask.sum())} visual steps, "
          f"{int(x.text_mask.sum())} text tokens, {len(wa.words)} words; IG {settings.ig_steps} steps, {how}, "
          f"{len(e.counterfactuals or ())} counterfactuals\n")
    rows = [(p.replace("_", " "), f"{e.timings.get(p, float('nan')):.2f} s") for p in PARTS]
    rows += [(f"  (inside the above) {k}", f"{v:.2f} s") for k, v in e.timings.items() if k.startswith("shared pass")]
    rows.append(("cold total (first call)", f"{cold:.2f} s"))
    ig = e.integrated_gradients
    text_d = f"{ig.deltas['text']:+.2e}" if "text" in ig.deltas else "not run (text_ig off)"
    rows.append(("IG convergence delta (audio+visual / text)", f"{ig.deltas['audio+visual']:+.2e} / {text_d}"))
    rows.append(("IG relative completeness error", f"{completeness_error(ig):.3f}"))
    rows.append(("Shapley: sum(phi) - (f(all) - f(none))",
                 f"{sum(e.shapley.values.values()) - (e.shapley.full - e.shapley.base):+.1e}"))
    rows.append(("word scores: relative completeness error", f"{wa.completeness:.1e}"))
    if wa.standard_error.size:
        rows.append(("word scores: largest standard error / largest |score|",
                     f"{wa.standard_error.max():.3f} / {abs(wa.scores).max():.3f}"))
    table(rows)
    if compare:
        old = settings.replace(word_method="integrated_gradients", word_steps=settings.ig_steps)
        explain_clip(runner, clip, old, reference=ref, other=other)  # warm, like the run above
        t = time.perf_counter()
        o = explain_clip(runner, clip, old, reference=ref, other=other)
        t_old = time.perf_counter() - t
        perm = settings.replace(word_estimator="permutations", word_samples=6, text_ig=True)  # the default before "ends"
        explain_clip(runner, clip, perm, reference=ref, other=other)
        t = time.perf_counter()
        p6 = explain_clip(runner, clip, perm, reference=ref, other=other)
        t_perm = time.perf_counter() - t
        t = time.perf_counter()
        n = explain_clip(runner, clip, settings, reference=ref, other=other)
        t_new = time.perf_counter() - t
        ow = o.word_attributions
        print("\n## word attribution, previous default vs now (same process, both warm)\n")
        table([
            (f"previous: integrated gradients {ow.steps} steps (shared with the modality IG text pass)",
             f"total {t_old:.2f} s, word pass {o.timings.get('shared pass: text_ig', float('nan')):.2f} s, "
             f"completeness error {ow.completeness:.2f}"),
            (f"now: {how}", f"total {t_new:.2f} s, word pass {n.timings.get('shared pass: word_shapley', n.timings['word_attribution']):.2f} s "
             f"(+ IG text pass {n.timings.get('shared pass: text_ig', float('nan')):.2f} s), "
             f"completeness error {n.word_attributions.completeness:.1e}"),
            (f"earlier Shapley default: {p6.word_attributions.coalitions} coalitions (6 sampled orders) + IG text pass",
             f"total {t_perm:.2f} s"),
            ("ratio of totals (now / integrated gradients)", f"{t_new / t_old:.2f}x"),
            ("ratio of totals (now / earlier Shapley default)", f"{t_new / t_perm:.2f}x"),
        ], ("setting", "measured"))


def bench_tsne(sizes: tuple[int, ...], threads: int) -> None:
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE as SkTSNE

    rows = []
    for n in sizes:
        x = np.random.default_rng(0).normal(size=(n, 64)).astype(np.float32)
        t = time.perf_counter()
        OpenTSNE(n_jobs=threads, random_state=0, n_iter=500, early_exaggeration_iter=250).fit(x)
        to = time.perf_counter() - t
        t = time.perf_counter()
        SkTSNE(n_jobs=threads, random_state=0, max_iter=750, init="pca").fit_transform(x)
        ts = time.perf_counter() - t
        rows.append((f"{n} points, 64-d", f"openTSNE {to:.1f} s | scikit-learn {ts:.1f} s | {ts / to:.1f}x"))
        print(f"  ({n} points done)", flush=True)
    print(f"\n## t-SNE fit, 750 iterations, {threads} threads (openTSNE FFT vs scikit-learn Barnes-Hut)")
    table(rows, ("data", "fit time"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    ap.add_argument("--quick", action="store_true", help="t-SNE on 2k/5k points instead of 5k/20k")
    ap.add_argument("--skip-tsne", action="store_true")
    ap.add_argument("--ig-steps", type=int, default=ExplainSettings.ig_steps)
    ap.add_argument("--word-steps", type=int, default=ExplainSettings.word_steps, help="IG steps (word method integrated_gradients)")
    ap.add_argument("--word-method", default=ExplainSettings.word_method, choices=["shapley", "integrated_gradients"])
    ap.add_argument("--word-samples", type=int, default=ExplainSettings.word_samples)
    ap.add_argument("--word-estimator", default=ExplainSettings.word_estimator, choices=["auto", "ends", "permutations"])
    ap.add_argument("--no-compare", action="store_true", help="skip the run with the previous word method")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ExplainSettings(ig_steps=args.ig_steps, word_steps=args.word_steps, word_method=args.word_method,
                               word_samples=args.word_samples,
                               word_estimator=args.word_estimator)
    devs = []
    if args.device in ("cpu", "all"):
        devs.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devs.append(torch.device("cuda"))
    elif args.device == "cuda":
        print("no CUDA device available: GPU figures skipped")
    for dev in devs:
        name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads (fp32)"
        print(f"\n## explain_clip, {name}")
        bench_explain(dev, settings, compare=not args.no_compare)
    if not torch.cuda.is_available():
        print("\n(no GPU on this machine: GPU rows not measured)")
    if not args.skip_tsne:
        bench_tsne((2000, 5000) if args.quick else (5000, 20000), torch.get_num_threads())


if __name__ == "__main__":
    main()
