"""``mmviz refit-heads``: give a trained checkpoint a text head that reads real sentiment and
per-branch distances to its training data, without retraining the fusion path.

What it changes (everything else, the fused head included, is copied bit for bit):

1. **Text head** (``FusionConfig.text_head_layer``): refitted on human-rated text — CMU-MOSI
   *train* (labels on [-3, 3]) and VADER's ground-truth snippets (rescaled x3/4) — plus the
   generated corpus' transcripts with their planted text valence, at the LM layer a
   cross-validated probe on the training texts picks (:mod:`mmviz.training.text_head`). MOSI dev
   is never read here; it is what the model card scores.
2. **Audio and visual heads** (optional, ``branch_heads=True``): switched to the separate
   branch view (``FusionConfig.branch_view``: each modality encoded on its own, so the audio head
   cannot read the face) and refitted there on the corpus clips' planted vocal / facial valence.
   Why: a checkpoint trained with the mixed view has an "audio head" that partly reads the face
   (a probe on its mixed audio embedding predicts the face's valence at r 0.76 on held-out faces).
3. **Branch distances** (``FusionConfig.branch_distance``, :mod:`mmviz_models.distance`):
   text on the same training texts, audio and visual on the generated corpus' clips (the
   generator the fusion model was trained on), from the embeddings the heads read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from mmviz.errors import DatasetError
from mmviz.training import text_head as th
from mmviz_models.checkpoint import checkpoint_hash, save_checkpoint
from mmviz_models.distance import BranchDistance

#: VADER snippets used (a seeded sample: all 22k would take ~20 min of LM passes on 2 CPU cores)
VADER_SAMPLE = 2500


def training_texts(shared_dir: Path | None, corpus: list, vader_sample: int = VADER_SAMPLE) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts, valence, source) of the text head's training items; MOSI dev is excluded by construction."""
    from mmviz.demo.corpus import planted_valences

    texts, ys, src = [], [], []
    for c in corpus:
        v = planted_valences(c.meta).get("text")
        if v is not None and np.isfinite(v) and c.features.transcript.strip():
            texts.append(c.features.transcript.strip())
            ys.append(float(v))
            src.append("templates")
    if shared_dir is not None:
        from mmviz.demo.real_text import load_mosi, load_vader

        mosi = load_mosi(shared_dir, modes=("train",))
        vader = load_vader(shared_dir)
        vader = vader.sample(n=min(vader_sample, len(vader)), random_state=0)
        for df, name in ((mosi, "mosi"), (vader, "vader")):
            texts += list(df["text"])
            ys += list(df["valence"].astype(float))
            src += [name] * len(df)
    return texts, np.asarray(ys, np.float64), np.asarray(src)


@torch.no_grad()
def branch_embeddings(model, runner_inputs: Callable, clips: list, batch: int = 16) -> dict[str, np.ndarray]:
    """Pooled audio and visual embeddings of ``clips`` (rows of clips lacking the stream are NaN)."""
    out = {"audio": [], "visual": []}
    for s in range(0, len(clips), batch):
        chunk = [c.features for c in clips[s : s + batch]]
        x = runner_inputs(chunk)
        o = model(x)
        for b, emb, mask in (("audio", o.emb_audio, x.audio_mask), ("visual", o.emb_visual, x.visual_mask)):
            e = emb.float().cpu().numpy()
            e[~mask.any(1).cpu().numpy()] = np.nan
            out[b].append(e)
    return {k: np.concatenate(v) for k, v in out.items()}


#: what a held-out fold leaves out, per branch: the speaker for the audio head, the face for the visual head
GROUP_COLUMN = {"audio": "voice", "visual": "face"}
#: grouped folds of the unseen-group calibration (the varied generator has eight training voices)
CALIBRATION_FOLDS = 8


def shrink_for_unseen(pred: np.ndarray, target: np.ndarray) -> float:
    """The factor s in [0, 1] that minimises mean |target − s·pred| over out-of-group predictions.

    Why: a head's error on a *speaker it never heard* is mostly an offset that depends on the
    speaker (a lively natural voice reads as happy); cross-validated over held-out training voices,
    the best single factor says how much of the head's swing survives a new speaker. 1 = trust it
    fully, 0 = a new speaker's prediction says nothing.
    """
    grid = np.linspace(0.0, 1.0, 41)
    err = [float(np.mean(np.abs(target - g * pred))) for g in grid]
    return float(grid[int(np.argmin(err))])


def _calibrate(head, X: np.ndarray, y: np.ndarray, groups: np.ndarray, log, name: str) -> dict:
    """Leave-groups-out predictions of a fresh copy of ``head``, and the head scaled by their shrink factor."""
    import copy

    from sklearn.model_selection import GroupKFold

    k = min(CALIBRATION_FOLDS, len(set(groups)))
    pred = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=k).split(X, y, groups):
        fold = copy.deepcopy(head)
        th.fit_head(fold, X[tr], y[tr])
        with torch.no_grad():
            pred[te] = fold(torch.as_tensor(X[te], dtype=torch.float32)).squeeze(-1).numpy()
    scale = shrink_for_unseen(pred, y)
    last = [m for m in head.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # s·head(x): the output layer scaled, no new parameter
        last.weight.mul_(scale)
        last.bias.mul_(scale)
    rep = {"folds": k, "groups": len(set(groups)), "scale": scale,
           "unseen_r": float(np.corrcoef(pred, y)[0, 1]), "unseen_mae": float(np.mean(np.abs(y - pred))),
           "unseen_mae_scaled": float(np.mean(np.abs(y - scale * pred)))}
    log(f"{name} head on unseen {GROUP_COLUMN[name]}s ({k} grouped folds): r {rep['unseen_r']:.3f}, MAE "
        f"{rep['unseen_mae']:.3f} -> {rep['unseen_mae_scaled']:.3f} with its output scaled by {scale:.3f}")
    return rep


def refit_branch_heads(model, runner_inputs: Callable, clips: list, log: Callable[[str], None] = print) -> dict:
    """Switch ``model`` to the separate branch view and refit its audio and visual heads there on
    the clips' planted vocal and facial valence (the fused path is untouched).

    Each head is then calibrated for inputs from a speaker (audio) or face (visual) it never saw:
    grouped cross-validation over the training voices / faces measures how far its predictions
    carry to a new one, and the head's output is scaled by the factor that fits those
    out-of-group predictions best (:func:`shrink_for_unseen`). Corpora without voice/face columns
    (the original single-voice generator) skip the calibration.
    """
    from mmviz.demo.corpus import planted_valences

    model.cfg = model.cfg.replace(branch_view="separate")
    model.eval()
    embs = branch_embeddings(model, runner_inputs, clips)
    out = {}
    for b, head in (("audio", model.head_audio), ("visual", model.head_visual)):
        y = np.array([planted_valences(c.meta).get(b, np.nan) for c in clips], dtype=float)
        ok = np.isfinite(y) & np.isfinite(embs[b]).all(1)
        if ok.sum() < 20:
            raise DatasetError(f"Only {int(ok.sum())} corpus clips carry a planted {b} valence; refitting the {b} head needs 20.",
                               hint="Pass corpora made by `mmviz demo-corpus` (their metadata holds the planted valences).")
        out[b] = th.fit_head(head, embs[b][ok], y[ok])
        log(f"{b} head (separate view): validation MAE {out[b]['valid_mae']:.3f} after {out[b]['epochs']} epochs, {int(ok.sum())} clips")
        groups = np.array([str(c.meta.get(GROUP_COLUMN[b], "") or "") for c in clips])[ok]
        named = set(groups) - {"", "nan"}
        if len(named) >= 3 and len(named) == len(set(groups)):  # every clip names its voice / face
            out[b]["unseen_calibration"] = _calibrate(head, embs[b][ok], y[ok], groups, log, b)
    return out


def card_section(report: dict, new_hash: str) -> str:
    """The model card's account of the refit: what changed, on what data, and the real-label figures."""
    src = ", ".join(f"{k} {v}" for k, v in report["text_sources"].items())
    lines = [f"\n\n## Refitted heads (`mmviz refit-heads`; checkpoint `{new_hash}`)\n",
             f"The text head was refitted alone on {src} texts (MOSI *train*, VADER rescaled x3/4, the corpus' "
             f"template sentences; MOSI dev never read) and reads LM layer {report['text_head_layer']}; the fused "
             "path and head are unchanged. Each unimodal prediction shrinks by min(1, ratio^-2) where ratio is "
             "its input's distance to the training data over the training clips' 99th percentile; the record "
             "keeps the head's own output and warns above 1.5.\n"]
    if report.get("branch_heads"):
        fits = report["branch_heads"]
        lines.append("The audio and visual heads now read each modality encoded on its own (`branch_view` "
                     "\"separate\": the audio head cannot see the face) and were refitted there on the corpus clips' "
                     "planted vocal / facial valence (validation MAE "
                     + ", ".join(f"{b} {f['valid_mae']:.3f}" for b, f in fits.items()) + "); each head's output is "
                     "then scaled for speakers / faces it never saw (" + ", ".join(
                         f"{b} x{f['unseen_calibration']['scale']:.2f}" for b, f in fits.items() if f.get("unseen_calibration"))
                     + ", from grouped cross-validation over the training voices / faces).\n")
    for b, d in report["distance"].items():
        lines.append(f"- {b} distance fitted on {int(d['clips'])} items (Ledoit-Wolf shrinkage {d['shrinkage']:.3f})")
    if report.get("mosi_dev"):
        lines.append("\n| CMU-MOSI dev (audio and video absent) | Non0 Acc-2 | r | MAE |\n|---|---|---|---|")
        for k, m in report["mosi_dev"].items():
            lines.append(f"| {k} | {m['Non0_acc_2']:.3f} | {m['Corr']:.3f} | {m['MAE']:.3f} |")
    return "\n".join(lines) + "\n"


def refit_heads(checkpoint: str | Path, out: str | Path, corpus_dir: str | Path, shared_dir: str | Path | None,
                layer: int | None = None, log: Callable[[str], None] = print, vader_sample: int = VADER_SAMPLE,
                branch_heads: bool = False, more_corpora: list | tuple = ()) -> dict:
    """Write the refitted checkpoint to ``out``; returns the report (also saved as ``refit.json``).

    corpus_dir: the features folder whose template sentences join the text head's training texts
        (its train and valid clips). more_corpora: further folders whose clips join only the audio
        and visual side (branch heads and distances): more voices and faces, no repeated texts.
    branch_heads: also refit the audio and visual heads on the separate branch view.
    """
    from mmviz.data.dataset import load_features_dir
    from mmviz.inference.runner import ModelRunner

    t0 = time.perf_counter()
    shared = Path(shared_dir) if shared_dir and Path(shared_dir).exists() else None
    if shared is None:
        log("no shared data folder: the text head is refitted on the corpus' template sentences only")
    def usable(d) -> list:
        return [c for c in load_features_dir(d) if c.split == "train" or c.split == "valid"]

    corpus = usable(corpus_dir)
    if len(corpus) < 20:
        raise DatasetError(f"{corpus_dir} holds {len(corpus)} train/valid clips; the distances need at least 20.",
                           hint="Generate more with `mmviz demo-corpus --features-only --n 150`.")
    runner = ModelRunner.from_checkpoint(checkpoint)
    model, tok = runner.model, runner.tokenizer
    texts, y, src = training_texts(shared, corpus, vader_sample)
    log(f"text head: {len(texts)} training texts ({', '.join(f'{k} {int((src == k).sum())}' for k in np.unique(src))})")
    layers = sorted(set(th.CANDIDATE_LAYERS) | ({layer} if layer is not None else set()))
    shown = [-1]

    def progress(frac: float) -> None:  # a line every 10 % of the LM passes (minutes on a CPU)
        if int(frac * 10) > shown[0]:
            shown[0] = int(frac * 10)
            log(f"text states: {frac:.0%} of {len(texts)} texts")

    states = th.pooled_text_states(model, tok, texts, layers if layer is None else [layer], progress=progress)
    probe = []
    if layer is None:
        human = src != "templates"
        pick = human if human.sum() >= 50 else np.ones(len(y), bool)
        probe = th.probe_layers({k: v[pick] for k, v in states.items()}, y[pick])
        layer = th.best_layer(probe)
        log("probe (5-fold CV on the training texts): " + ", ".join(f"L{r['layer']} {r['non0_acc2']:.3f}" for r in probe))
    X = states[layer]
    weight = np.ones(len(y))
    for k in np.unique(src):  # each source weighs as much in total as MOSI (or the largest) does
        weight[src == k] = (src == ("mosi" if (src == "mosi").any() else k)).sum() / (src == k).sum()
    fit = th.fit_head(model.head_text, X, y, weight)
    log(f"text head at layer {layer}: validation MAE {fit['valid_mae']:.3f} after {fit['epochs']} epochs")

    cfg = model.cfg.replace(text_head_layer=int(layer), branch_distance=True)
    dist = BranchDistance({"text": model.d_model, "audio": cfg.av_dim, "visual": cfg.av_dim})
    report = {"text_head_layer": int(layer), "text_head_fit": fit, "probe": probe,
              "text_sources": {k: int((src == k).sum()) for k in np.unique(src)}, "distance": {}}
    report["distance"]["text"] = dist.fit("text", X)
    av_corpus = corpus + [c for d in more_corpora for c in usable(d)]
    if branch_heads:
        report["branch_heads"] = refit_branch_heads(model, runner.inputs, av_corpus, log)
        cfg = cfg.replace(branch_view="separate")
    embs = branch_embeddings(model, runner.inputs, av_corpus)
    for b in ("audio", "visual"):
        report["distance"][b] = dist.fit(b, embs[b])
    model.cfg = cfg
    model.distance = dist
    if shared is not None:  # the card's real-label figures: MOSI dev, never read above
        from mmviz.training.evaluation import mosi_dev_heads

        model.eval()
        report["mosi_dev"] = mosi_dev_heads(model, tok, shared)
        log("MOSI dev: " + ", ".join(f"{k} Non0 Acc-2 {v['Non0_acc_2']:.3f} r {v['Corr']:.3f}"
                                     for k, v in report["mosi_dev"].items()))
    meta_src = Path(checkpoint) / "meta.json"
    meta = json.loads(meta_src.read_text()) if meta_src.exists() else {}
    meta["refit_heads"] = report | {"from_checkpoint": checkpoint_hash(checkpoint), "corpus": str(corpus_dir),
                                    "more_corpora": [str(d) for d in more_corpora],
                                    "corpus_clips": len(corpus), "av_clips": len(av_corpus), "seconds": time.perf_counter() - t0}
    h = save_checkpoint(model, out, meta, half=True)
    for extra in Path(checkpoint).iterdir():  # the card and anything else beside the weights travel too
        if extra.is_file() and not (Path(out) / extra.name).exists():
            (Path(out) / extra.name).write_bytes(extra.read_bytes())
    (Path(out) / "refit.json").write_text(json.dumps(meta["refit_heads"], indent=1))
    card = Path(out) / "MODEL_CARD.md"
    card.write_text((card.read_text() if card.exists() else "# mmviz model\n") + card_section(report, h))
    report["checkpoint_hash"] = h
    log(f"refitted checkpoint {h} written to {out} in {time.perf_counter() - t0:.0f} s")
    return report
