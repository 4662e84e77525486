"""Held-out quality of a checkpoint: every head against unimodal baselines, plus CMU-MOSI dev.

    python bench/model_quality.py [--checkpoint models/default] [--work DIR] [--shared-dir ../shared]
    python bench/model_quality.py --heads-only --eval-corpus DIR --checkpoint A --compare B [--compare C]

``--eval-corpus`` (a features folder none of the checkpoints trained on, e.g. a demo corpus
generated with another seed) adds the table "does each head mean what its name says": the
text head against the sentence's planted valence, the audio head against the voice's, the
visual head against the face's, the fused head against the label — and CMU-MOSI dev with
audio and video absent (text head and fused head against human labels) — for the checkpoint
and every ``--compare`` checkpoint, side by side. ``--heads-only`` prints only that table.

``--work`` is the folder ``mmviz build-default`` generated its corpora into (default:
``$MMVIZ_CACHE/build-default``); the test split of those corpora was never trained on. The
baselines are refitted on the train split, so the comparison uses exactly the same data.
Prints markdown tables (the model card holds the same numbers, from the same code).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from mmviz.data.dataset import load_features_dir
    from mmviz.training.evaluation import heldout_table, markdown_table, mosi_dev_text
    from mmviz_models.backbone import cache_dir
    from mmviz_models.checkpoint import load_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(REPO / "models" / "default"))
    ap.add_argument("--work", default=None, help="corpora folder of mmviz build-default")
    ap.add_argument("--shared-dir", default=str(REPO.parent / "shared"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--compare", action="append", default=[], help="another checkpoint for the heads table")
    ap.add_argument("--eval-corpus", default=None, help="features folder never trained on, for the heads table")
    ap.add_argument("--heads-only", action="store_true", help="print only the heads table")
    a = ap.parse_args(argv)

    if a.eval_corpus or a.heads_only:
        heads_table([a.checkpoint, *a.compare], a.eval_corpus, Path(a.shared_dir))
        if a.heads_only:
            return 0
    work = Path(a.work) if a.work else cache_dir() / "build-default"
    corpora = sorted(p for p in work.glob("corpus-*") if (p / "metadata.csv").exists())
    if not corpora:
        print(f"No corpora under {work}. Run `python3 -m mmviz build-default --work {work}` first "
              "(or pass --work to where it wrote them).", file=sys.stderr)
        return 2
    t0 = time.time()
    model, bb, h = load_checkpoint(a.checkpoint)
    data = [c for d in corpora for c in load_features_dir(d)]
    n_test = sum(c.split == "test" for c in data)
    print(f"checkpoint {h}; {len(data)} clips from {len(corpora)} corpora, {n_test} held out\n")
    table = heldout_table(model, bb.tokenizer, data, seed=a.seed)
    print("## Held-out generated clips (test split)\n")
    print(markdown_table(table))
    fused = table["model: fused head"]["Has0_acc_2"]
    best = max((v["Has0_acc_2"], k) for k, v in table.items() if k.startswith("baseline"))
    print(f"\nfused Acc-2 {fused:.3f} vs best unimodal baseline {best[1]} {best[0]:.3f} "
          f"(ratio {fused / max(best[0], 1e-9):.2f})")
    shared = Path(a.shared_dir)
    if (shared / "data" / "text").exists():
        m = mosi_dev_text(model, bb.tokenizer, shared)
        print("\n## CMU-MOSI dev, text path only (human labels)\n")
        print(markdown_table({"text head": m}))
    else:
        print(f"\nCMU-MOSI dev: skipped ({shared}/data/text not found)")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


def heads_table(checkpoints: list[str], eval_corpus: str | None, shared: Path) -> None:
    """Each head of each checkpoint against what its name promises (see the module doc)."""
    from mmviz.data.dataset import load_features_dir
    from mmviz.training.evaluation import mosi_dev_heads, planted_table
    from mmviz_models.checkpoint import load_checkpoint

    clips = load_features_dir(eval_corpus) if eval_corpus else []
    print("## Each head vs what its name promises\n")
    if clips:
        print(f"generated clips: {len(clips)} from {eval_corpus} (none trained on)")
    print("| checkpoint | trained on | head vs target | n | Non0 Acc-2 | MAE | r |")
    print("|---|---|---|---|---|---|---|")
    for ck in checkpoints:
        model, bb, h = load_checkpoint(ck)
        rows = {}
        if (shared / "data" / "text").exists():
            rows.update({f"MOSI dev (AV absent): {k}": v for k, v in mosi_dev_heads(model, bb.tokenizer, shared).items()})
        if clips:
            rows.update({f"generated: {k}": v | {"n": float(len(clips))}
                         for k, v in planted_table(model, bb.tokenizer, clips).items()})
        for name, m in rows.items():
            print(f"| {Path(ck).name} `{h[:8]}` | {model.cfg.head_targets} | {name} | {int(m.get('n', 0))} | "
                  f"{m['Non0_acc_2']:.3f} | {m['MAE']:.3f} | {m['Corr']:.3f} |")
    print()


if __name__ == "__main__":
    sys.exit(main())
