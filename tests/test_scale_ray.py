"""``mmviz score --engine ray``: Ray Data gives the local engine's table, records and metrics.

The slow test starts a real local Ray instance (2 CPUs: one decoding task, one model actor)
on 4 committed demo clips with the tiny model, and compares it with the local engine.
"""

from __future__ import annotations

import shutil
import socket
import sys

from pathlib import Path

import pandas as pd
import pytest

from mmviz.cli import main
from mmviz.errors import MmvizError
from mmviz.explain.record import ExplainSettings
from mmviz.scale.ray_score import (RayError, WorkerPlan, check_at_least_one, check_reachable, plan_workers,
                                   require_ray)

N_CLIPS = 4


@pytest.fixture(scope="module")
def four_clips(repo_root, tmp_path_factory):
    """The first 4 committed demo clips, their transcripts and their metadata rows (labels)."""
    src = repo_root / "mmviz" / "demo" / "clips"
    out = tmp_path_factory.mktemp("demo4")
    meta = pd.read_csv(src / "metadata.csv").head(N_CLIPS)
    for f in meta["file"]:
        shutil.copy(src / f, out / f)
        shutil.copy(src / f.replace(".mp4", ".txt"), out / f.replace(".mp4", ".txt"))
    meta.to_csv(out / "metadata.csv", index=False)
    return out


# ------------------------------------------------------------------ fast: planning and refusals
@pytest.mark.parametrize("workers, resources, device, want", [
    (1, {"CPU": 2}, "auto", WorkerPlan(decoders=1, actors=1, gpus_per_actor=0)),
    (4, {"CPU": 16}, "auto", WorkerPlan(decoders=4, actors=4, gpus_per_actor=0)),
    (4, {"CPU": 3}, "auto", WorkerPlan(decoders=4, actors=2, gpus_per_actor=0)),  # one CPU left to decode
    (None, {"CPU": 16}, "auto", WorkerPlan(decoders=8, actors=8, gpus_per_actor=0)),
    (8, {"CPU": 32, "GPU": 2}, "auto", WorkerPlan(decoders=8, actors=2, gpus_per_actor=1)),  # one actor per GPU
    (None, {"CPU": 32, "GPU": 4}, "auto", WorkerPlan(decoders=28, actors=4, gpus_per_actor=1)),
    (2, {"CPU": 32, "GPU": 4}, "cpu", WorkerPlan(decoders=2, actors=2, gpus_per_actor=0)),  # --device cpu: no GPUs
])
def test_worker_plan(workers, resources, device, want):
    assert plan_workers(workers, resources, device) == want


def test_worker_plan_refusals():
    with pytest.raises(RayError, match="has 1 CPU"):
        plan_workers(1, {"CPU": 1})
    with pytest.raises(RayError, match="--device cuda asks for GPUs, but the Ray cluster reports none"):
        plan_workers(1, {"CPU": 8}, "cuda")
    with pytest.raises(RayError, match="--device cuda:1 names one GPU"):
        plan_workers(1, {"CPU": 8, "GPU": 2}, "cuda:1")


def test_user_errors_raised_in_workers_come_back_as_themselves():
    from mmviz.errors import CheckpointError
    from mmviz.scale.ray_score import user_error

    own = CheckpointError("No model.safetensors in /x.")
    wrapped = RuntimeError("task failed")
    wrapped.__cause__ = own
    assert user_error(wrapped) is own
    died = RuntimeError("The actor died because of an error raised in its creation task\n  File ...\n"
                        "mmviz.errors.CheckpointError: No model.safetensors in /x. Point to a folder.\n")
    assert str(user_error(died)) == "A Ray worker stopped: No model.safetensors in /x. Point to a folder."
    assert user_error(RuntimeError("segfault")) is None  # a bug keeps its traceback


def test_counts_must_be_at_least_one(capsys):
    for bad in (0, -2, 1.5, True):
        with pytest.raises(MmvizError, match="--workers must be a whole number of at least 1"):
            check_at_least_one(workers=bad)
    check_at_least_one(workers=None, batch_size=3)
    for flag in ("--workers", "--batch-size"):
        with pytest.raises(SystemExit) as e:
            main(["score", "somewhere", "--engine", "ray", flag, "0"])
        assert e.value.code == 2
        assert f"argument {flag}: must be at least 1, not 0" in capsys.readouterr().err


def test_local_engine_refuses_ray_options(four_clips, tmp_path, capsys):
    assert main(["score", str(four_clips), "--checkpoint", "tiny", "--store", str(tmp_path), "--workers", "2"]) == 2
    assert "--address and --workers are for --engine ray" in capsys.readouterr().err


def test_missing_ray_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(RayError, match=r"Ray is not installed.*pip install 'ray\[data\]'"):
        require_ray()


def test_unreachable_address_is_refused_quickly(four_clips, tmp_path, capsys):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RayError, match=f"Could not reach a Ray cluster at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(RayError, match="is not HOST:PORT"):
        check_reachable("headnode")
    rc = main(["score", str(four_clips), "--engine", "ray", "--checkpoint", "tiny", "--store", str(tmp_path),
               "--address", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert rc == 2 and "ray start --head" in err and "Traceback" not in err


# ------------------------------------------------------------------ slow: a real Ray run
def _run(capsys, *args) -> tuple[int, str]:
    rc = main(["score", *map(str, args)])
    return rc, capsys.readouterr().out


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(four_clips, tmp_path, capsys, monkeypatch):
    import mmviz.scale.ray_score as rs
    from mmviz.records.keys import transcript_input_key
    from mmviz.records.serialize import load_record
    from mmviz.data.scoring import dataset_name
    from mmviz.data.store import ResultsStore

    seen = {}
    real = rs.score_folder_ray
    monkeypatch.setattr(rs, "score_folder_ray", lambda *a, **k: seen.setdefault("table", real(*a, **k)))

    local_store, ray_store = tmp_path / "local", tmp_path / "ray"
    rc, local_out = _run(capsys, four_clips, "--checkpoint", "tiny", "--store", local_store, "--out", tmp_path / "local.csv")
    assert rc == 0
    rc, ray_out = _run(capsys, four_clips, "--checkpoint", "tiny", "--store", ray_store, "--out", tmp_path / "ray.csv",
                       "--engine", "ray", "--workers", 1, "--batch-size", 2, "--explain")
    assert rc == 0

    # the same report: counts, labels joined, MMSA metrics printed (store path aside)
    assert f"scored {N_CLIPS} of {N_CLIPS} clips" in ray_out
    metrics = [line for line in ray_out.splitlines() if line.startswith("fused head: ")]
    assert len(metrics) == 1 and "MAE" in metrics[0] and "Corr" in metrics[0]
    assert metrics == [line for line in local_out.splitlines() if line.startswith("fused head: ")]

    # the same table: same clips, labels, columns and predictions
    local, ray = pd.read_csv(tmp_path / "local.csv"), pd.read_csv(tmp_path / "ray.csv")
    assert list(ray.columns) == list(local.columns) + ["explanation"]
    assert list(ray["clip_id"]) == list(local["clip_id"]) == [f"demo{i:03d}" for i in range(N_CLIPS)]
    assert ray["label"].tolist() == local["label"].tolist()
    assert ray["content_hash"].tolist() == local["content_hash"].tolist()
    for col in ("pred_fused", "pred_text", "pred_audio", "pred_visual"):
        assert (ray[col] - local[col]).abs().max() < 1e-5, col

    # the records landed in the results store, under the local engine's names
    store = ResultsStore(ray_store)
    table = store.get_dataset(dataset_name(four_clips, "tiny-seed0"))
    assert table is not None and len(table) == N_CLIPS
    for _, r in ray.iterrows():
        feats = store.get_features(r["content_hash"], transcript_input_key(None, Path(r["path"]).with_suffix(".txt")))
        assert feats is not None
        ins = store.get_inspection("tiny-seed0", feats)
        assert abs(ins.predictions.fused - r["pred_fused"]) < 1e-6
        e = load_record(ray_store / r["explanation"])  # loads in a fresh process: every record type it holds is registered
        assert store.get_explanation("tiny-seed0", feats, ExplainSettings()) is not None
        assert e.content_hash == r["content_hash"] and abs(e.prediction - r["pred_fused"]) < 1e-6
        assert e.shapley is not None and e.integrated_gradients is not None

    # Ray ran two stages, decoding in tasks and the model in actors, not fused into one operator
    stats = seen["table"].attrs["ray_stats"]
    assert "Map(_extract_row): 4 tasks executed" in stats and "MapBatches(_ScoreActor)" in stats
    assert "_extract_row)->MapBatches" not in stats
