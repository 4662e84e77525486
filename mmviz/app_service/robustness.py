"""Robustness curves of several checkpoints on the open dataset, for the Error analysis page.

The page gives the loaded checkpoint plus any folders the user typed; this module checks the
folders (a clear :class:`MmvizError` for each kind of mistake), reads the dataset's labelled
clips once, and computes (or reads from the results store) one
:class:`~mmviz.data.robustness.RobustnessCurves` per checkpoint.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mmviz.data.dataset import LabelledClip
from mmviz.data.robustness import DEFAULT_LEVELS, RobustnessCurves, cached_robustness_curves
from mmviz.errors import CheckpointError
from mmviz.progress import Progress, scaled

from mmviz.app_service.datasets import DatasetView, dataset_features

_TINY = re.compile(r"^tiny(:\d+)?$")


def parse_checkpoints(text: str) -> list[str]:
    """The checkpoint folders in ``text`` (one per line or comma-separated), each checked.

    A folder must exist and hold what ``mmviz train`` writes (config.json + model.safetensors);
    ``tiny`` / ``tiny:<seed>`` name the tiny test model, as everywhere else in the app.
    """
    out: list[str] = []
    for raw in re.split(r"[,\n]", text or ""):
        spec = raw.strip().strip('"').strip("'")
        if not spec or spec in out:
            continue
        p = Path(spec).expanduser()
        if not p.exists() and _TINY.match(spec):
            out.append(spec)
            continue
        if not p.exists():
            raise CheckpointError(f"The checkpoint folder {spec} does not exist.",
                                  hint="Give the output folder of `mmviz train` (one per line, or separated by commas).")
        if not p.is_dir():
            raise CheckpointError(f"{spec} is a file, not a checkpoint folder.", hint="Give the folder that holds config.json.")
        missing = [f for f in ("config.json", "model.safetensors") if not (p / f).exists()]
        if missing:
            raise CheckpointError(f"{spec} is not a checkpoint folder: it has no {' or '.join(missing)}.",
                                  hint="Give the output folder of `mmviz train` (it holds config.json and model.safetensors).")
        out.append(str(p))
    return out


def labelled_clips(svc, ds: DatasetView) -> list[LabelledClip]:
    """The dataset's clips that have a label, with their features (store first, extracted again otherwise)."""
    lab = pd.to_numeric(ds.table["label"], errors="coerce")
    rows = ds.table[lab.notna()]
    return [LabelledClip(dataset_features(svc, row), float(lab[i]), "test", {"clip_id": str(row.get("clip_id"))})
            for i, row in rows.iterrows()]


def strategy_robustness(svc, ds: DatasetView, extra: str = "", levels=DEFAULT_LEVELS, seed: int = 0,
                        progress: Progress | None = None) -> list[RobustnessCurves]:
    """Curves of the loaded checkpoint and of every folder in ``extra`` on ``ds``'s labelled clips."""
    specs = parse_checkpoints(extra)  # before any work: a wrong folder fails at once
    clips = labelled_clips(svc, ds)
    runners = [("loaded: " + Path(str(svc.spec)).name, svc.runner)] + [(Path(s).name, svc.runner_for(s)) for s in specs]
    out = []
    for k, (name, runner) in enumerate(runners):
        part = scaled(progress, k / len(runners), (k + 1) / len(runners), prefix=f"{name}: ")
        out.append(cached_robustness_curves(svc.store, runner, clips, levels, name=name, dataset=ds.source, seed=seed,
                                            progress=part))
    return out
