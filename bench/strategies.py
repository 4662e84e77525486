"""Every fusion strategy trained on the same generated corpus, side by side in one table.

    python bench/strategies.py [--work DIR] [--size tiny|small] [--backbone smollm2-135m-instruct]
                               [--max-steps N] [--shared-dir ../shared] [--only deep,ume] [--out FILE.md]

1. A features-only demo corpus (template sentences, espeak-ng voices with a planted vocal
   valence, an animated face with a planted facial valence; ``mmviz demo-corpus
   --features-only``) is generated into ``--work`` once and reused by later runs.
2. Each strategy trains on its train split with the default recipe's settings (modality
   dropout 0.5 relabelled by the label rule, frozen fusion-token embeddings, early stopping on
   validation MAE), bounded by ``--max-steps``: deep, late, early, UME (mean and learned
   weights), UMT (taught by the UME), and deep fusion with the InfoNCE terms (``--aux mi``),
   the shared-prompt aligner and Self-MM pseudo-labels.
3. Each checkpoint is scored on a held-out-factor corpus (voices, faces, sentence frames and
   phrases no training clip used; ``mmviz.demo.factors``): the fused head against the
   label (Acc-2 non-zero, MAE, Pearson r), each unimodal head against the label too (every row
   trains its heads on the label: late, early, UME and UMT require it),
   robustness (``mmviz.data.robustness``: each modality removed as the explainers remove it,
   and at the largest noise level), alignment (``modality_alignment``: matched vs mismatched
   cosine and R@1/R@5, audio→visual as they are, text→audio through a cross-fitted ridge map),
   CMU-MOSI dev through the text path ``mmviz score transcripts.csv`` uses (audio and video
   absent; when ``--shared-dir`` holds ``data/text``), and the training wall time.

Prints one markdown table (``--out`` also writes it). The README and the model cards carry
this table as generated, whatever the numbers say.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the checkout's mmviz, not another one
    sys.path.insert(0, str(REPO))

#: corpus clips and training bounds per size: (clips, epochs, batch size, max steps). "small" is a
#: quick smoke run (14 steps: most rows stay near their initial answer); "medium" trains long
#: enough for the rows to differ (~200 steps of 16, ~1 h on 2 CPU cores) and is what the README shows.
SIZES = {"tiny": (32, 1, 8, 3), "small": (120, 1, 8, 14), "medium": (400, 10, 16, 200)}
TINY_BACKBONE = "tiny-random-llama"
#: (row name, FusionConfig changes, LossWeights changes, TrainSettings changes, teacher row)
RUNS: tuple[tuple[str, dict, dict, dict, str | None], ...] = (
    ("deep", {}, {}, {}, None),
    ("late", {"strategy": "late"}, {}, {}, None),
    ("early", {"strategy": "early"}, {}, {}, None),
    ("ume", {"strategy": "ume"}, {}, {}, None),
    ("ume learned", {"strategy": "ume", "ume_weights": "learned"}, {}, {}, None),
    ("umt (from ume)", {"strategy": "umt"}, {"distill": 1.0}, {}, "ume"),
    ("deep + mi", {}, {"mi": 0.1, "mi_pairs": 0.05}, {}, None),
    ("deep + aligner", {"aligner": "shared-prompt"}, {"align": 0.5}, {}, None),
    ("deep + self-mm", {}, {}, {"pseudo_labels": "self-mm"}, None),
)
LEVELS = (0.0, 2.0)  # the table shows the largest level; the dashboard draws the whole curve
COLUMNS = ("strategy", "Acc-2", "MAE", "r", "text head Acc-2", "audio head Acc-2", "visual head Acc-2",
           "Acc-2 −text", "Acc-2 −audio", "Acc-2 −visual", "Acc-2 text σ=2", "Acc-2 audio σ=2", "Acc-2 visual σ=2",
           "cos a↔v matched", "cos a↔v mismatched", "a→v R@1", "a→v R@5", "t→a R@1", "t→a R@5",
           "MOSI dev Acc-2 (fused)", "MOSI dev Acc-2 (text head)", "train s")


def corpus(work: Path, n: int, seed: int, log=print, factors: str = "train") -> Path:
    """The features-only corpus for (n, seed, factor set), generated once into ``work``.

    factors "train": the varied generator's training voices, faces, frames and phrases (split by
    transcript); "heldout": only the held-out ones (``mmviz.demo.factors``) — the test set.
    """
    from mmviz.demo.corpus import generate_corpus

    d = work / f"corpus-templates-n{n}-s{seed}-{factors}"
    if (d / "metadata.csv").exists():
        log(f"reusing corpus {d}")
        return d
    log(f"generating {n} clips into {d} (features only, {factors} factors)")
    generate_corpus(d, n, seed, text_source="templates", keep_media=False, factors=factors)
    return d


def base_config(backbone: str):
    """The default recipe's config on the real backbone; the tiny test model's sizes on the tiny one.

    Every row's heads learn the clip label (``head_targets="label"``): late, early, UME and UMT
    need it (their unimodal heads are members predicting the label), so deep fusion does too,
    and all rows are trained on the same targets.
    """
    if backbone == TINY_BACKBONE:
        from mmviz.inference.tiny import tiny_config

        return tiny_config(audio_features=(), visual_features=(), head_targets="label")
    from mmviz.training.default_recipe import Recipe

    return Recipe().config().replace(backbone=backbone, head_targets="label")


def train_run(name: str, cfg_changes: dict, loss_changes: dict, settings_changes: dict, teacher: Path | None,
              data, out: Path, backbone: str, epochs: int, batch: int, max_steps: int, seed: int,
              lr: float = 5e-4, patience: int = 3) -> float:
    """Train one row's checkpoint into ``out``; returns the wall seconds."""
    from mmviz.demo.label import label_without
    from mmviz.training.loop import TrainSettings, train

    cfg = base_config(backbone)
    cfg = cfg.replace(**cfg_changes, loss=dataclasses.replace(cfg.loss, **loss_changes))
    s = TrainSettings(epochs=epochs, batch_size=batch, lr=lr, patience=patience, seed=seed, max_steps=max_steps,
                      train_fusion_tokens=False, modality_dropout=0.5, **settings_changes)
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    train(cfg, data, out, s, progress=False, log=lambda m: None, teacher=teacher,
          relabel=lambda clip, dropped: label_without(clip.meta, dropped))
    return time.perf_counter() - t0


def evaluate_run(ckpt: Path, test, shared: Path | None, seed: int) -> dict[str, float]:
    """Every column of one row except its name and training time."""
    import numpy as np

    from mmviz.data.robustness import robustness_curves
    from mmviz.explain.embedding_map import embeddings_of, modality_alignment
    from mmviz.inference.runner import ModelRunner
    from mmviz.data.metrics import mmsa_metrics
    from mmviz.training.evaluation import evaluate_heads, mosi_dev_heads

    r = ModelRunner.from_checkpoint(ckpt, "cpu")
    row: dict[str, float] = {}
    labels = [c.label for c in test]
    heads = {k: mmsa_metrics(v, labels) for k, v in evaluate_heads(r.model, r.tokenizer, test).items()}
    fused = heads["fused"]
    row.update({"Acc-2": fused["Non0_acc_2"], "MAE": fused["MAE"], "r": fused["Corr"]})
    for m in ("text", "audio", "visual"):
        row[f"{m} head Acc-2"] = heads[m]["Non0_acc_2"]
    rob = robustness_curves(r, test, LEVELS, seed=seed)
    for m in ("text", "audio", "visual"):
        row[f"Acc-2 −{m}"] = rob.removed_score(m, "Non0_acc_2")
        row[f"Acc-2 {m} σ=2"] = rob.noise_score(m, -1, "Non0_acc_2")
    ins = r.inspect([c.features for c in test])
    av = modality_alignment(embeddings_of(ins, "audio"), embeddings_of(ins, "visual"), names=("audio", "visual"), seed=seed)
    ta = modality_alignment(embeddings_of(ins, "text"), embeddings_of(ins, "audio"), names=("text", "audio"),
                            projection="ridge", seed=seed)
    row.update({"cos a↔v matched": av.mean_cosine, "cos a↔v mismatched": av.mean_cosine_mismatched,
                "a→v R@1": av.r_at_1_a_to_b, "a→v R@5": av.r_at_5_a_to_b, "t→a R@1": ta.r_at_1_a_to_b,
                "t→a R@5": ta.r_at_5_a_to_b, "_chance R@1": av.chance_r_at_1, "_chance R@5": av.chance_r_at_5})
    if shared is not None:
        mosi = mosi_dev_heads(r.model, r.tokenizer, shared)
        row["MOSI dev Acc-2 (fused)"] = mosi["fused head"]["Non0_acc_2"]
        row["MOSI dev Acc-2 (text head)"] = mosi["text head"]["Non0_acc_2"]
        row["_mosi_n"] = mosi["fused head"]["n"]
    else:
        row["MOSI dev Acc-2 (fused)"] = row["MOSI dev Acc-2 (text head)"] = float(np.nan)
    return row


def markdown(rows: dict[str, dict[str, float]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    for name, m in rows.items():
        cells = [name] + [_cell(m.get(c, float("nan")), c) for c in COLUMNS[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(v: float, col: str) -> str:
    if v != v:  # NaN
        return "—"
    return f"{v:.0f}" if col == "train s" else f"{v:.3f}"


def validation_split(data: list) -> list:
    """The training corpus' own test split joins validation (the held-out-factor corpus is the test set);
    a tiny corpus without either gets its last training transcript as validation, so training can stop early."""
    data = [dataclasses.replace(c, split="valid") if c.split == "test" else c for c in data]
    if not any(c.split == "valid" for c in data):
        last = data[-1].features.transcript
        data = [dataclasses.replace(c, split="valid") if c.features.transcript == last else c for c in data]
    return data


def main(argv: list[str] | None = None) -> int:
    from mmviz.data.dataset import load_features_dir
    from mmviz_models.backbone import cache_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="folder for the corpus and the checkpoints (default: <cache>/bench-strategies)")
    ap.add_argument("--size", choices=tuple(SIZES), default="small")
    ap.add_argument("--backbone", default="smollm2-135m-instruct", help=f"built-in LM name, or {TINY_BACKBONE} for a smoke run")
    ap.add_argument("--max-steps", type=int, default=None, help="training steps per strategy (default: the size's bound)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per strategy (default: the size's bound; raise it with --max-steps)")
    ap.add_argument("--shared-dir", default=str(REPO.parent / "shared"), help="folder with data/text (CMU-MOSI dev)")
    ap.add_argument("--skip-mosi", action="store_true", help="do not score CMU-MOSI dev (it is the slowest part on a CPU)")
    ap.add_argument("--only", default="", help="comma-separated row names to run (default: all)")
    ap.add_argument("--lr", type=float, default=5e-4, help="learning rate of every row (the shipped recipe's: 5e-4)")
    ap.add_argument("--patience", type=int, default=3,
                    help="epochs without a better validation MAE before a row stops (a large value: always the full bound)")
    ap.add_argument("--reference", action="append", default=[], metavar="CHECKPOINT",
                    help="also score this already-trained checkpoint on the same test clips, as a reference row "
                         "(not trained here; e.g. models/default, the deep model trained for the full recipe)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=None, help="also write the table (markdown) to this file")
    a = ap.parse_args(argv)

    n, epochs, batch, steps = SIZES[a.size]
    steps = a.max_steps or steps
    epochs = a.epochs or epochs
    only = {s.strip() for s in a.only.split(",") if s.strip()}
    unknown = only - {r[0] for r in RUNS}
    if unknown:
        print(f"--only: unknown row(s) {sorted(unknown)}; rows are {', '.join(r[0] for r in RUNS)}", file=sys.stderr)
        return 2
    work = Path(a.work) if a.work else cache_dir() / "bench-strategies"
    work.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731 — the table alone goes to stdout
    data = validation_split(load_features_dir(corpus(work, n, a.seed, log)))
    # the test set: unseen voices, faces, frames and phrases (never the training corpus' own test split)
    test = load_features_dir(corpus(work, max(8, n // 4), a.seed + 1000, log, factors="heldout"))
    shared = Path(a.shared_dir) if (Path(a.shared_dir) / "data" / "text").exists() and not a.skip_mosi else None
    tag = f"{a.size}-{'tiny' if a.backbone == TINY_BACKBONE else Path(a.backbone).name}"
    counts = {s: sum(c.split == s for c in data) for s in ("train", "valid")} | {"heldout-factor test": len(test)}
    log(f"{len(data)} clips {counts}; backbone {a.backbone}; ≤ {steps} steps per strategy")
    t_all = time.perf_counter()
    rows: dict[str, dict[str, float]] = {}
    outs: dict[str, Path] = {}
    for name, cfg_c, loss_c, set_c, teacher in RUNS:
        if only and name not in only:
            continue
        if teacher is not None and teacher not in outs:
            log(f"{name}: skipped (its teacher row {teacher!r} was not run)")
            continue
        out = work / "runs" / tag / name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "plus")
        log(f"{name}: training")
        secs = train_run(name, cfg_c, loss_c, set_c, outs.get(teacher) if teacher else None, data, out, a.backbone,
                         epochs, batch, steps, a.seed, a.lr, a.patience)
        outs[name] = out
        log(f"{name}: trained in {secs:.0f} s; evaluating")
        rows[name] = evaluate_run(out, test, shared, a.seed) | {"train s": secs}
    for ref in a.reference:
        p = Path(ref)
        if not (p / "config.json").exists():
            log(f"--reference {ref}: no checkpoint there (config.json missing); skipped")
            continue
        from mmviz_models.checkpoint import checkpoint_hash

        name = f"{p.resolve().name} {checkpoint_hash(p)} (reference, not trained here)"
        log(f"{name}: evaluating")
        rows[name] = evaluate_run(p, test, shared, a.seed) | {"train s": float("nan")}
    first = next(iter(rows.values()), {})
    mosi = (f"CMU-MOSI dev: {int(first['_mosi_n'])} transcripts, audio and video absent" if "_mosi_n" in first else
            "CMU-MOSI dev: not measured (--skip-mosi)" if a.skip_mosi else
            f"CMU-MOSI dev: not measured ({a.shared_dir}/data/text not found)")
    cmd = "python bench/strategies.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join([
        f"Generated {datetime.date.today().isoformat()} by `{cmd}` ({time.perf_counter() - t_all:.0f} s in all).",
        f"Corpus: {n} generated clips (seed {a.seed}, training voices/faces/frames/phrases), split {counts}; scores on "
        f"{len(test)} clips whose voices (incl. the neural hibari-tts voice), faces, frames and phrases no training clip used. "
        f"Backbone {a.backbone}; each strategy trained ≤ {steps} steps (batch {batch}, modality dropout 0.5). {mosi}.",
        "Acc-2 = non-zero Acc-2 (MMSA), every head against the clip label (what every row's heads learn); −m = m removed as the explainers "
        "remove it; σ=2 = Gaussian noise of 2 training std (text: all words dropped); R@k a→v as they are, t→a through a "
        f"cross-fitted ridge map; chance R@1 {first.get('_chance R@1', float('nan')):.3f}, "
        f"R@5 {first.get('_chance R@5', float('nan')):.3f}.",
        "",
        markdown(rows),
    ])
    print(text)
    for name, out in outs.items():  # each trained checkpoint carries the table it is a row of
        (out / "MODEL_CARD.md").write_text(f"# {name} (bench/strategies.py)\n\nThis checkpoint is the row "
                                           f"**{name}** of the table below.\n\n{text}\n")
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
