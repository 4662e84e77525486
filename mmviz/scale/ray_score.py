"""``mmviz score --engine ray``: the same scoring as :mod:`mmviz.data.scoring`, on Ray Data.

Two stages, streamed by Ray Data:

1. decoding + feature extraction: a stateless ``map`` run as Ray tasks (one CPU each, up to
   ``workers`` at once), which writes each clip's features into the results store;
2. the model: a ``map_batches`` over an actor pool; each actor builds the runner once from a
   :class:`~mmviz.inference.spec.RunnerSpec` (one GPU per actor when the cluster has GPUs),
   inspects batches of clips into the store and, with ``explain``, explains each one.

Both stages call the local engine's functions (``features_for``, ``score_features``, the row
builders), so the table, the records and the dataset name are the ones ``mmviz score`` writes
without Ray, and the dashboard reads them unchanged. On a cluster the clip folder and the
store folder must be on a filesystem every node sees (NFS, a mounted bucket), because workers
read clips and write records by path; ``address`` is the head's (``ray start --head``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmviz.data.scoring import (clip_row, dataset_name, explanation_for, feature_columns, features_for, labels_by_clip,
                                list_clips, prediction_row, score_features, sidecar_of)
from mmviz.data.store import ResultsStore
from mmviz.errors import MmvizError
from mmviz.explain.record import ExplainSettings
from mmviz.inference.spec import RunnerSpec
from mmviz.records.keys import transcript_input_key


class RayError(MmvizError):
    """Ray is missing, the cluster cannot be reached, or it is too small for the job."""

    kind = "ray"


def require_ray():
    """The ``ray`` module with Ray Data, or a RayError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayError("Ray is not installed, so --engine ray is unavailable.",
                       hint="Install it with: pip install 'ray[data]'  (or score on this machine without --engine ray).") from e
    return ray


def check_at_least_one(**values: int | None) -> None:
    """Refuse counts below 1 (``workers=0`` would start no worker and wait forever)."""
    for name, v in values.items():
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            flag = "--" + name.replace("_", "-")
            raise MmvizError(f"{flag} must be a whole number of at least 1, not {v!r}.")


@dataclass(frozen=True)
class WorkerPlan:
    """How many workers each stage gets on this cluster, and what each model actor reserves."""

    decoders: int
    actors: int
    gpus_per_actor: int
    cpus_per_actor: int = 1
    #: heap each model actor reserves (bytes): the model plus a batch's activations. Besides
    #: keeping Ray from packing more models on a node than fit, it makes the two stages' resource
    #: requests differ, which keeps Ray Data from fusing decoding into the model actors (it fuses
    #: a task map into the next actor map when their requests match; decoding would then run
    #: only as fast as there are model actors).
    memory_per_actor: int = 1 << 30


def plan_workers(workers: int | None, resources: dict, device: str = "auto") -> WorkerPlan:
    """Split the cluster between decoding tasks and model actors.

    ``workers`` N: N decoding tasks and N model actors (at most one actor per GPU on a GPU
    cluster); None: as many as the cluster holds (one actor per GPU, else half the CPUs). Model
    actors always leave at least one CPU free, or no clip could be decoded for them to score
    (Ray would wait forever). ``device`` "cpu" keeps the actors off the GPUs; "cuda" refuses a
    cluster that has none.
    """
    cpus = int(resources.get("CPU", 0))
    gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
    if device.startswith("cuda:"):
        raise RayError(f"--device {device} names one GPU, but on Ray each model actor sees only the GPU Ray gave it.",
                       hint="Use --device cuda (or auto): every actor gets a GPU of its own.")
    if device.startswith("cuda") and gpus < 1:
        raise RayError(f"--device {device} asks for GPUs, but the Ray cluster reports none ({cpus} CPUs).",
                       hint="Start the workers on GPU nodes (`ray start` finds the GPUs), or use --device auto or cpu.")
    if cpus < 2:
        raise RayError(f"The Ray cluster has {cpus} CPU(s); scoring needs at least 2 (one decodes clips, one runs the model).",
                       hint="Add a node with `ray start --address HEAD:6379`, or score without --engine ray.")
    if gpus:
        actors = min(workers or gpus, gpus, cpus - 1)
    else:
        actors = min(workers or max(1, cpus // 2), cpus - 1)
    return WorkerPlan(decoders=workers or max(1, cpus - actors), actors=actors, gpus_per_actor=1 if gpus else 0)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse an address nothing answers on, in seconds rather than Ray's minutes of retrying.

    ``ray.init(address=...)`` on a port nobody listens on retries the GCS connection for many
    minutes before giving up; a plain TCP connect says the same thing at once. "auto" (find
    the cluster on this machine) is left to Ray.
    """
    import socket

    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RayError(f"--address {address!r} is not HOST:PORT.",
                       hint="Pass the head node's address as `ray start --head` printed it, e.g. 10.0.0.5:6379.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise RayError(f"Could not reach a Ray cluster at {address}: {e.strerror or e}.",
                       hint="Start the head node with `ray start --head --port 6379`, check that this machine can reach "
                            "that host and port (firewall, VPN), or leave --address out to score on a local Ray "
                            "instance.") from None


def connect(ray, address: str | None, workers: int | None) -> bool:
    """Join the cluster at ``address``, or start a local Ray instance; returns whether this call
    started (and so must shut down) Ray. A Ray already initialised in this process is reused."""
    import os

    if ray.is_initialized():
        return False
    if address:
        check_reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            cpus = 2 * workers if workers else max(2, os.cpu_count() or 2)
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RayError(f"Could not connect to {where}: {first}",
                       hint="Start the head node with `ray start --head --port 6379` and pass --address HEAD_IP:6379 "
                            "(reachable from this machine, same Ray and Python versions); leave --address out to "
                            "score on a local Ray instance.") from None
    return True


# ------------------------------------------------------------------ stage 1: decode + features (tasks)
def _extract_row(row: dict, *, store_root: str) -> dict:
    """One clip -> its feature columns (features saved in the store), or its error."""
    p = Path(row["path"])
    out = {"path": str(p), "transcript_input": transcript_input_key(None, sidecar_of(p)), "error": "", "content_hash": "", "duration": float("nan"),
           "transcript_source": "", "face_present": float("nan")}
    try:
        cols = feature_columns(features_for(p, ResultsStore(store_root)))
    except MmvizError as e:
        return out | {"error": str(e)}
    cols["face_present"] = float("nan") if cols["face_present"] is None else cols["face_present"]
    return out | cols


# ------------------------------------------------------------------ stage 2: the model (actors)
class _ScoreActor:
    """One per model worker: loads the model once, then inspects (and explains) batches of clips."""

    def __init__(self, spec: RunnerSpec, store_root: str, batch_size: int, explain: ExplainSettings | None) -> None:
        self.runner = spec.build()
        self.store = ResultsStore(store_root)
        self.batch_size = batch_size
        self.explain = explain

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        ok = (batch["error"] == "").to_numpy()
        rows = batch[ok]
        feats = [self.store.get_features(h, k) for h, k in zip(rows["content_hash"], rows["transcript_input"])]
        out = batch.copy()
        for col in ("checkpoint_hash", "explanation"):
            out[col] = ""
        for col in ("pred_fused", "pred_text", "pred_audio", "pred_visual"):
            out[col] = float("nan")
        if not feats:
            return out
        inspections = score_features(feats, self.runner, self.store, batch_size=self.batch_size)
        for idx, f, ins in zip(rows.index, feats, inspections):
            for k, v in prediction_row(ins).items():
                out.at[idx, k] = v
            if self.explain is not None:
                explanation_for(f, self.runner, self.store, inspection=ins, settings=self.explain)
                p = self.store.explanation_path(self.runner.checkpoint_hash, f, self.explain)
                out.at[idx, "explanation"] = str(p.relative_to(self.store.root))
        return out


def score_folder_ray(
    folder: str | Path,
    spec: RunnerSpec,
    store_root: str | Path,
    *,
    labels: pd.DataFrame | None = None,
    address: str | None = None,
    workers: int | None = None,
    batch_size: int = 8,
    explain: ExplainSettings | None = None,
) -> pd.DataFrame:
    """Score every clip in ``folder`` with Ray Data; returns the local engine's table.

    spec: which model each actor loads (and on which device). store_root: the results store
        (shared by every node). labels: as for local scoring (joined on ``clip_id``).
    address: an existing cluster's address; None starts a local Ray instance for this call
        (with ``2 * workers`` CPUs, or all of this machine's). workers: see :func:`plan_workers`.
    batch_size: clips per model forward pass. explain: also explain every clip with these
        settings (records under the store's ``explanations/``, path in column ``explanation``).

    Raises :class:`RayError` when Ray is missing or the cluster cannot be reached or is too
    small, :class:`MmvizError` for a bad folder, count or checkpoint (checked before Ray starts).
    """
    # normalise + validate (before any worker starts)
    check_at_least_one(workers=workers, batch_size=batch_size)
    paths = list_clips(folder)
    checkpoint_hash = spec.checkpoint_hash()
    store = ResultsStore(store_root)
    ray = require_ray()
    started = connect(ray, address, workers)
    try:
        plan = plan_workers(workers, ray.cluster_resources(), spec.device)
        ds = ray.data.from_items([{"path": str(p)} for p in paths], override_num_blocks=len(paths))
        ds = ds.map(_extract_row, fn_kwargs={"store_root": str(store.root)}, num_cpus=1,
                    compute=ray.data.TaskPoolStrategy(size=plan.decoders))
        ds = ds.map_batches(
            _ScoreActor, batch_size=batch_size, batch_format="pandas",
            fn_constructor_kwargs={"spec": spec, "store_root": str(store.root), "batch_size": batch_size,
                                   "explain": explain},
            compute=ray.data.ActorPoolStrategy(size=plan.actors),
            num_cpus=plan.cpus_per_actor, num_gpus=plan.gpus_per_actor, memory=plan.memory_per_actor,
        )
        try:
            done = ds.to_pandas()
        except ray.exceptions.RayError as e:
            user = user_error(e)
            if user is None:
                raise
            raise user from None
        stats = ds.stats()
    finally:
        if started:
            ray.shutdown()
    table = _assemble(paths, done, labels_by_clip(labels), explain is not None)
    store.put_dataset(dataset_name(folder, checkpoint_hash), table)
    table.attrs["ray_stats"] = stats  # Ray Data's per-stage report (which operators ran, how long)
    return table


def user_error(e: BaseException) -> MmvizError | None:
    """The user-facing error a Ray worker raised, from Ray's wrapper around it (None: a bug).

    A task's exception comes back as an instance of its own class; an actor that fails in its
    constructor (e.g. a checkpoint that does not load) comes back as ``ActorDiedError`` whose
    text holds the original "mmviz.errors.X: message" line.
    """
    import re

    seen = set()
    c: BaseException | None = e
    while c is not None and id(c) not in seen:
        if isinstance(c, MmvizError):
            return c
        seen.add(id(c))
        c = c.__cause__ or getattr(c, "cause", None)
    m = re.search(r"^mmviz(?:\.\w+)*\.(\w+): (.+)$", str(e), re.M)
    if m:
        return MmvizError(f"A Ray worker stopped: {m.group(2).strip()}")
    return None


def _assemble(paths: list[Path], done: pd.DataFrame, labels: dict, explained: bool) -> pd.DataFrame:
    """The rows Ray returned (in any order) as the local engine's table, in folder order."""
    by_path = {r["path"]: r for r in done.to_dict("records")}
    feature_cols = ("content_hash", "duration", "transcript_source", "face_present")
    pred_cols = ("checkpoint_hash", "pred_fused", "pred_text", "pred_audio", "pred_visual")
    pred_cols += ("explanation",) if explained else ()
    rows = []
    for p in paths:
        r = by_path[str(p)]
        row = clip_row(p, labels)
        if r["error"]:
            rows.append(row | {"error": r["error"]})
            continue
        face = r["face_present"]
        rows.append(row | {c: r[c] for c in feature_cols} | {"face_present": None if pd.isna(face) else float(face)}
                    | {c: r[c] for c in pred_cols})
    return pd.DataFrame(rows)
