"""--device / --compile: parsing, clear refusals without CUDA, an unchanged CPU path, and the
bf16 code path (run here under CPU autocast, since this machine has no GPU)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from mmviz.cli import main
from mmviz.inference.device import (DeviceError, accelerate, autocast_entry_points, parse_device, precision_label,
                                    resolve_device)
from mmviz.inference.runner import ModelRunner
from mmviz.inference.spec import RunnerSpec
from mmviz.testing.tiny import synthetic_clip, tiny_model, tiny_runner


@pytest.fixture
def no_cuda(monkeypatch):
    """Behave as a machine without CUDA, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("text, want", [("auto", "auto"), ("CPU", "cpu"), ("cuda", "cuda"), (" cuda:1 ", "cuda:1")])
def test_device_values_parse(text, want):
    assert parse_device(text) == want


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "mps", "cuda:0:1", ""])
def test_bad_device_values_are_refused_by_the_parser(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a device"):
        parse_device(text)


@pytest.mark.parametrize("cmd", ["inspect", "explain", "score", "train"])
def test_every_model_command_takes_device_and_refuses_nonsense(cmd, capsys):
    extra = ["--out", "x"] if cmd == "train" else []
    with pytest.raises(SystemExit) as e:
        main([cmd, "somewhere", *extra, "--device", "gpu"])
    assert e.value.code == 2
    assert "argument --device: 'gpu' is not a device; use one of auto, cpu, cuda, cuda:N" in capsys.readouterr().err


def test_auto_is_cpu_without_cuda(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")


def test_runner_refuses_cuda_with_a_clear_message_when_there_is_none(no_cuda, tmp_path):
    from mmviz_models.checkpoint import save_checkpoint

    save_checkpoint(tiny_runner().model, tmp_path / "ckpt")
    for dev in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError, match=f"--device {dev} asks for a CUDA GPU, but this machine has none") as e:
            ModelRunner.from_checkpoint(tmp_path / "ckpt", device=dev)
        assert "--device cpu" in str(e.value)  # says what to do
    with pytest.raises(DeviceError, match="not a device"):
        ModelRunner.from_checkpoint(tmp_path / "ckpt", device="gpu")


def test_cli_prints_the_cuda_refusal_as_one_line(no_cuda, tmp_path, capsys):
    from mmviz.records.serialize import save_record
    from mmviz_models.checkpoint import save_checkpoint

    save_checkpoint(tiny_runner().model, tmp_path / "ckpt")
    save_record(synthetic_clip(0), tmp_path / "clip")
    assert main(["inspect", str(tmp_path / "clip.json"), "--checkpoint", str(tmp_path / "ckpt"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmviz inspect: --device cuda asks for a CUDA GPU") and "Traceback" not in err


def test_a_gpu_index_past_the_last_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(DeviceError, match="names GPU 3, but this machine has 2"):
        resolve_device("cuda:3")


def test_compile_is_refused_on_the_cpu(tmp_path):
    with pytest.raises(DeviceError, match="--compile is for the CUDA path"):
        ModelRunner.from_checkpoint(tmp_path / "not-even-loaded", device="cpu", compile=True)
    with pytest.raises(DeviceError, match="--compile is for the CUDA path"):
        RunnerSpec("tiny", "cpu", compile=True).build()


def test_cpu_path_is_plain_float32_as_before():
    """On the CPU the runner calls the model itself, with nothing wrapped, and records say "cpu"."""
    runner = tiny_runner()
    assert runner._call is runner.model
    assert not {"forward", "encode_text", "precompute_fusion"} & set(vars(runner.model))
    clips = [synthetic_clip(1), synthetic_clip(2, duration=5.0)]
    ins = runner.inspect(clips)
    with torch.no_grad():
        ref = runner.model(runner.inputs(clips)).pred_fused  # the model, called directly
    assert ref.dtype == torch.float32
    assert [i.predictions.fused for i in ins] == [float(v) for v in ref]
    assert all(i.device == "cpu" for i in ins) and runner.precision == "cpu"


def test_cuda_setup_wraps_every_entry_point_and_compiles_only_the_runner_forward():
    """What ``accelerate`` does for CUDA, checked without running on a GPU (nothing is called)."""
    model, _ = tiny_model()
    call = accelerate(model, torch.device("cuda"), compile=True)
    assert {"forward", "encode_text", "precompute_fusion"} <= set(vars(model))  # autocast wrappers on this instance
    assert call is not model and getattr(call, "_orig_mod", None) is model  # torch.compile(model): same weights
    assert precision_label(torch.device("cuda"), compiled=True) == "cuda:0 bf16-autocast +compile"
    assert precision_label(torch.device("cuda:1")) == "cuda:1 bf16-autocast"


def test_bf16_autocast_path_inspects_and_explains():
    """The CUDA path's mixed precision (bf16 activations, float32 weights) through inspection and
    every explainer, run under CPU autocast: records stay float32, numbers stay close to fp32."""
    from mmviz.explain import ExplainSettings, explain_clip

    runner = tiny_runner()
    clip = synthetic_clip(3)
    settings = ExplainSettings(ig_steps=4, word_steps=4)
    ref_ins = runner.inspect([clip])[0]
    ref = explain_clip(runner, clip, settings)
    autocast_entry_points(runner.model, "cpu", torch.bfloat16)
    ins = runner.inspect([clip])[0]
    got = explain_clip(runner, clip, settings)
    assert ins.predictions.fused != ref_ins.predictions.fused  # autocast really ran in bf16
    assert abs(ins.predictions.fused - ref_ins.predictions.fused) < 0.02
    for arr in (ins.cross_attention, ins.token_states, ins.embeddings["fused"], ins.predictions.tokens):
        assert arr.dtype == np.float32 and np.isfinite(arr).all()
    for m, v in ref.shapley.values.items():
        assert abs(got.shapley.values[m] - v) < 0.02
    for m, v in ref.integrated_gradients.totals.items():
        assert abs(got.integrated_gradients.totals[m] - v) < 0.02
    assert got.word_attributions is not None and np.isfinite(got.word_attributions.scores).all()


def test_runner_spec_builds_the_tiny_model_and_knows_its_hash(tmp_path):
    spec = RunnerSpec("tiny:1", "cpu")
    runner = spec.build()
    assert runner.checkpoint_hash == spec.checkpoint_hash() == "tiny-seed1"
    assert "face_present" in runner.cfg.visual_features  # real feature names: reads real clips
    from mmviz.errors import CheckpointError

    with pytest.raises(CheckpointError, match="No model.safetensors"):
        RunnerSpec(str(tmp_path)).checkpoint_hash()
    with pytest.raises(CheckpointError, match="neither a checkpoint folder nor tiny:<seed>"):
        RunnerSpec("tiny:x").checkpoint_hash()
