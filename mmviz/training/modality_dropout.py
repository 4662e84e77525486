"""Modality dropout with counterfactual labels: train on partial clips the way explainers probe them.

Why: Shapley values, the "drop a modality" counterfactual and the robustness curves all ask the
model what it predicts when a modality is *removed*. A model trained only on complete clips
has never seen such an input, so its answer there is arbitrary (the shipped 4-epoch model said
about +1.8 for "nothing at all"), and an explanation built on those answers misattributes.
Here a share of each training batch is shown with a random non-empty set of modalities
removed, exactly as the explainers remove them (``mmviz.features.ablate``: text -> the empty
transcript; audio/visual -> unmeasured steps or an absent stream), and the target becomes the
label the clip would have had without them.

That target is only known when the data says how the label was made: ``relabel(clip,
dropped)`` returns it, or None to leave that clip complete. For the generated corpora it is
:func:`mmviz.demo.label.label_without` (the documented label rule applied to the remaining
planted valences). Clips without a rule are never dropped, so real data is never given an
invented label.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from mmviz.data.dataset import LabelledClip
from mmviz.features.ablate import remove
from mmviz.explain.record import MODALITIES
from mmviz.records.features import ClipFeatures
from mmviz.training.targets import ItemTargets, item_targets

#: every non-empty set of modalities, each as likely as the next
DROP_SETS: tuple[tuple[str, ...], ...] = tuple(
    s for k in range(1, len(MODALITIES) + 1) for s in itertools.combinations(MODALITIES, k)
)
#: how a removed audio/visual stream is shown: as the explainers' default baseline ("mean":
#: unmeasured steps) or as the dashboard's "drop" counterfactual ("absent": no stream)
REMOVALS: tuple[str, ...] = ("mean", "absent")

Relabel = Callable[[LabelledClip, tuple[str, ...]], "float | None"]


def with_dropout(batch: list[LabelledClip], rate: float, relabel: Relabel | None,
                 rng: random.Random, head_targets: str = "label") -> list[tuple[ClipFeatures, ItemTargets]]:
    """(features, per-head targets) per clip: unchanged, or — with probability ``rate`` — partial and relabelled.

    ``head_targets`` (``FusionConfig.head_targets``) says what the unimodal heads learn; a
    removed modality's head then learns 0 under "planted" (see ``mmviz.training.targets``).
    """
    out = []
    for clip in batch:
        if relabel is not None and rate > 0 and rng.random() < rate:
            dropped = rng.choice(DROP_SETS)
            target = relabel(clip, dropped)
            if target is not None:
                feats = remove(clip.features, dropped, rng.choice(REMOVALS))
                out.append((feats, item_targets(clip, feats, float(target), dropped, head_targets)))
                continue
        out.append((clip.features, item_targets(clip, clip.features, clip.label, (), head_targets)))
    return out
