"""Held-out quality of a checkpoint: every head against unimodal baselines, plus CMU-MOSI dev.

    python bench/model_quality.py [--checkpoint models/default] [--work DIR] [--shared-dir ../shared]

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
    a = ap.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
