"""Held-out quality of a checkpoint in three tables: in-generator test, held-out factors, CMU-MOSI dev.

1. in-generator: the test split of the training-factor corpora (voices, faces, frames and phrases
   seen in training; sentences not — asserted);
2. held-out factors: the corpora whose voices (two espeak-ng speakers and the neural hibari-tts
   voice), faces, frames, phrases and sentences no training clip used, with the audio head per
   voice and the visual head over the unseen faces;
3. CMU-MOSI dev with audio and video absent, against human labels.

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
    from mmviz.training.default_recipe import _mosi_dev_ids, assert_disjoint_transcripts
    from mmviz.training.evaluation import heldout_table, markdown_table, mosi_dev_heads, planted_by_voice
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
    corpora = _corpora_of(Path(a.checkpoint), work)
    if not corpora:
        print(f"No corpora for {a.checkpoint} under {work}. Run `python3 -m mmviz build-default --work {work}` first "
              "(or pass --work to where it wrote them).", file=sys.stderr)
        return 2
    t0 = time.time()
    model, bb, h = load_checkpoint(a.checkpoint)
    dev_ids = _mosi_dev_ids(Path(a.shared_dir)) if (Path(a.shared_dir) / "data" / "text").exists() else set()
    data = [c for d in corpora for c in load_features_dir(d)  # as the build: MOSI dev stays the real-text test
            if not (c.meta.get("text_source") == "mosi" and str(c.meta.get("text_source_id")) in dev_ids)]
    data += _text_only_train_items(Path(a.shared_dir), data)
    per_split = assert_disjoint_transcripts(data)
    n = {s: sum(c.split == s for c in data) for s in ("train", "valid", "test", "heldout")}
    print(f"checkpoint {h}; {len(data)} items from {len(corpora)} corpora: {n}")
    print(f"distinct transcripts per split {per_split}; none of valid/test/heldout is in train (asserted)\n")
    table = heldout_table(model, bb.tokenizer, data, seed=a.seed)
    print("## 1. In-generator test split (training voices, faces, frames, phrases; unseen sentences)\n")
    print(markdown_table(table))
    fused = table["model: fused head"]["Has0_acc_2"]
    best = max((v["Has0_acc_2"], k) for k, v in table.items() if k.startswith("baseline"))
    print(f"\nfused Acc-2 {fused:.3f} vs best unimodal baseline {best[1]} {best[0]:.3f} "
          f"(ratio {fused / max(best[0], 1e-9):.2f})")
    if n["heldout"]:
        held = heldout_table(model, bb.tokenizer, data, seed=a.seed, split="heldout")
        print("\n## 2. Held-out factors (voices, faces, frames, phrases and sentences no training clip used)\n")
        print(markdown_table(held))
        print("\n| head vs planted valence | n | r | MAE | mean prediction | share > +2 |\n|---|---|---|---|---|---|")
        for k, m in planted_by_voice(model, bb.tokenizer, [c for c in data if c.split == "heldout"]).items():
            print(f"| {k} | {int(m['n'])} | {m['Corr']:.3f} | {m['MAE']:.3f} | {m['mean_pred']:+.2f} | {m['share_above_2']:.2f} |")
    else:
        print("\n## 2. Held-out factors: none (this checkpoint was built without the varied generator)")
    shared = Path(a.shared_dir)
    if (shared / "data" / "text").exists():
        m = mosi_dev_heads(model, bb.tokenizer, shared)
        print("\n## 3. CMU-MOSI dev, audio and video absent (human labels; as `mmviz score dev.csv` reads them)\n")
        print(markdown_table(m))
    else:
        print(f"\n## 3. CMU-MOSI dev: skipped ({shared}/data/text not found)")
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


def _corpora_of(checkpoint: Path, work: Path) -> list[Path]:
    """The corpora the checkpoint's build used (from its evaluation.json), else every corpus in ``work``."""
    import json

    ev = checkpoint / "evaluation.json"
    if ev.exists():
        listed = json.loads(ev.read_text()).get("corpora") or []
        from mmviz.training.default_recipe import corpus_dir

        dirs = [corpus_dir(work, c["source"], c["n"], c["seed"], c.get("factors")) for c in listed if c.get("n")]
        if dirs and all((d / "metadata.csv").exists() for d in dirs):
            return dirs
    return sorted(p for p in work.glob("corpus-*") if (p / "metadata.csv").exists())


def _text_only_train_items(shared: Path, data: list) -> list:
    """The MOSI train sentences the build adds as text-only items, so the overlap check covers them."""
    if not (shared / "data" / "text").exists():
        return []
    from mmviz.training.default_recipe import _mosi_text_items

    return _mosi_text_items(shared, data, None)


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
