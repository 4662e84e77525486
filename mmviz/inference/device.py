"""Where the model runs and at what precision: the ``--device`` / ``--compile`` options.

One place decides this for every command (inspect, explain, score, train) and for the Ray
actors, so "cuda" means the same thing everywhere:

* ``auto`` → the first CUDA device when torch sees one, else the CPU;
* ``cpu`` → float32, eager: exactly the numbers the tests and the committed records were made with;
* ``cuda`` / ``cuda:N`` → bfloat16 autocast around the model's entry points (the forward pass,
  the LM's text pass and the fusion pre-pass, hence every batched explanation pass too), and
  optionally ``torch.compile`` of the forward. Weights stay float32; autocast picks bf16 per op.

Asking for CUDA on a machine without it is a user error with a message, not a torch traceback.
torch is imported inside the functions: the CLI builds every command's parser (and so reads
:func:`parse_device`) on each call, and should not pay for importing torch to print ``--help``.
"""

from __future__ import annotations

import argparse
import functools
import re
from typing import TYPE_CHECKING

from mmviz.errors import MmvizError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
#: the model methods callers use directly (explainers call encode_text/precompute_fusion themselves)
_ENTRY_POINTS = ("forward", "encode_text", "precompute_fusion")


class DeviceError(MmvizError):
    """The device asked for does not exist on this machine (or does not fit the option)."""

    kind = "device"


def parse_device(text: str) -> str:
    """argparse ``type=`` for ``--device``: one of auto, cpu, cuda, cuda:N (lower-cased)."""
    s = str(text).strip().lower()
    if not _DEVICE_RE.match(s):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use one of {DEVICE_CHOICES}")
    return s


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The torch device for a ``--device`` value; refuses CUDA that is not there.

    Why refuse rather than fall back to the CPU: someone who typed ``--device cuda`` expects GPU
    speed and bf16 numbers, and a silent CPU run would give neither without saying so.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    try:
        s = parse_device(device) if device else "auto"
    except argparse.ArgumentTypeError as e:
        raise DeviceError(str(e) + ".", hint="Pass --device auto, cpu, cuda or cuda:N.") from None
    if s == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if s == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {s} asks for a CUDA GPU, but this machine has none that torch can use "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}).",
            hint="Use --device cpu (or auto), or install a CUDA build of torch on a machine with an NVIDIA GPU.",
        )
    dev = torch.device(s)
    n = torch.cuda.device_count()
    if dev.index is not None and dev.index >= n:
        raise DeviceError(f"--device {s} names GPU {dev.index}, but this machine has {n} (cuda:0 to cuda:{n - 1}).",
                          hint="Pick an index below the GPU count, or plain --device cuda.")
    return dev


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on CUDA, None (plain float32) elsewhere."""
    import torch

    return torch.bfloat16 if device.type == "cuda" else None


def precision_label(device: torch.device, compiled: bool = False) -> str:
    """What an Inspection's ``device`` field says: "cpu", "cuda:0 bf16-autocast", "+compile"."""
    name = f"cuda:{device.index or 0}" if device.type == "cuda" else str(device)
    dt = autocast_dtype(device)
    return name + (" bf16-autocast" if dt is not None else "") + (" +compile" if compiled else "")


def check_compile(device: torch.device, compile: bool) -> None:
    """Refuse ``--compile`` off CUDA (checked before a checkpoint is loaded, so it fails fast)."""
    if compile and device.type != "cuda":
        raise DeviceError("--compile is for the CUDA path; on the CPU the model runs eagerly in float32.",
                          hint="Drop --compile, or add --device cuda on a machine with an NVIDIA GPU.")


def autocast_entry_points(model: torch.nn.Module, device_type: str, dtype: torch.dtype) -> torch.nn.Module:
    """Wrap ``model``'s entry points (this instance only) in ``torch.autocast(device_type, dtype)``.

    The CUDA path uses ("cuda", bf16); tests use ("cpu", bf16) to run the same mixed-precision
    code (records, Captum, explainers) on a machine without a GPU.
    """
    import torch

    def wrap(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with torch.autocast(device_type, dtype=dtype):
                return fn(*args, **kwargs)

        return wrapped

    for name in _ENTRY_POINTS:
        if hasattr(model, name):
            setattr(model, name, wrap(getattr(model, name)))
    return model


def accelerate(model: torch.nn.Module, device: torch.device, *, compile: bool = False):
    """Set ``model`` (already on ``device``) up for its device; returns the callable to run
    plain forward passes with (the model itself, or its compiled version).

    On CUDA the entry points in ``_ENTRY_POINTS`` are wrapped in ``torch.autocast("cuda",
    dtype=torch.bfloat16)`` on this instance, so every caller — ``ModelRunner.forward``, the
    explainers that call ``model(...)``, ``model.encode_text`` and ``model.precompute_fusion``
    directly — runs in bf16 without knowing. ``compile`` returns ``torch.compile(model)`` (same
    parameters) for the runner's own forward passes only: the explainers' passes vary in batch
    size and go through Captum's hooks, which would recompile the graph again and again (tried
    on the tiny model with the aot_eager backend: 14 graphs, 145 s against 3 s eager), so they
    stay eager. On the CPU nothing changes and ``compile`` is refused: the CPU path stays
    eager float32.
    """
    check_compile(device, compile)
    if device.type != "cuda":
        return model
    autocast_entry_points(model, "cuda", autocast_dtype(device))
    if compile:
        import torch

        return torch.compile(model, dynamic=True)
    return model
