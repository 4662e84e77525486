"""Fusion-model speed: forward latency (batch 1), throughput (large batch), and a 64-step
integrated-gradients pass, batched vs looped — on CPU (float32), and on a GPU when one exists,
set up exactly as ``ModelRunner`` sets it up there (float32 weights, bf16 autocast, plus a
``torch.compile``d forward row; target: forward, batch 1 <= 3 ms).

Uses the real architecture (SmolLM2-135M, 30 layers, 16 fusion tokens, 6 blocks) with random
fusion weights: speed does not depend on the trained values. A 10 s clip = 100 audio +
100 visual steps and a ~25-token transcript.

    python bench/model_bench.py [--repeats 5] [--batch 32] [--device cpu|cuda|all]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mmviz.inference.batching import make_inputs
from mmviz.inference.device import accelerate
from mmviz.testing.tiny import synthetic_clip
from mmviz_models.backbone import load_backbone
from mmviz_models.config import FusionConfig
from mmviz_models.fusion import FusionInputs, FusionModel

AUDIO = tuple(f"a{i}" for i in range(24))
VISUAL = tuple(f"v{i}" for i in range(12))
TEXT = "honestly the story was slow at first but the ending made me smile and i would watch it again with friends"


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, dev, repeats: int) -> float:
    fn()
    _sync(dev)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        _sync(dev)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def ig_batched(model: FusionModel, x: FusionInputs, steps: int, reuse_text: bool = False, reuse_pre: bool = False) -> torch.Tensor:
    """All IG steps for audio+visual in one forward/backward of batch ``steps``.

    ``reuse_text``: the LM reads the (unchanged) transcript once and every step reuses it.
    """
    prefix = None
    if reuse_text:
        with torch.no_grad():
            prefix = model.encode_text(x.input_ids, x.text_mask)
            if reuse_pre:
                prefix = model.precompute_fusion(prefix)
            prefix = prefix.repeat(steps)
    alphas = (torch.arange(1, steps + 1, device=x.audio.device, dtype=torch.float32) / steps)[:, None, None]
    xr = x.repeat(steps)
    a = (xr.audio * alphas).requires_grad_(True)
    v = (xr.visual * alphas).requires_grad_(True)
    xi = FusionInputs(xr.input_ids, xr.text_mask, a, xr.audio_mask, xr.audio_times, v, xr.visual_mask, xr.visual_times)
    out = model(xi, prefix=prefix).pred_fused.sum()
    ga, gv = torch.autograd.grad(out, (a, v))
    return (ga.mean(0) * x.audio[0]).sum() + (gv.mean(0) * x.visual[0]).sum()


def ig_looped(model: FusionModel, x: FusionInputs, steps: int) -> None:
    for s in range(1, steps + 1):
        a = (x.audio * s / steps).requires_grad_(True)
        v = (x.visual * s / steps).requires_grad_(True)
        xi = FusionInputs(x.input_ids, x.text_mask, a, x.audio_mask, x.audio_times, v, x.visual_mask, x.visual_times)
        torch.autograd.grad(model(xi).pred_fused.sum(), (a, v))


#: GPU target of the forward pass, batch 1 (s)
FORWARD_TARGET_S = 0.003


def ms(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 0.1 else f"{t * 1000:.0f} ms"


def bench(dev: torch.device, repeats: int, batch: int, steps: int, loop_steps: int) -> list[tuple[str, str]]:
    cfg = FusionConfig(audio_features=AUDIO, visual_features=VISUAL)
    bb = load_backbone(cfg)
    torch.manual_seed(0)
    model = FusionModel(cfg, bb.lm).eval().to(dev)
    # as ModelRunner does: on CUDA bf16 autocast around the entry points (float32 weights); a
    # compiled forward for the runner's own passes. On the CPU: the model itself, float32.
    compiled = accelerate(model, dev, compile=dev.type == "cuda")
    clip = synthetic_clip(0, duration=10.0, text=TEXT, audio_names=AUDIO, visual_names=VISUAL)
    x1 = make_inputs([clip], bb.tokenizer, cfg).to(dev)
    xb = make_inputs([clip] * batch, bb.tokenizer, cfg).to(dev)
    rows = []
    with torch.no_grad():
        t1 = timeit(lambda: model(x1), dev, repeats)
        t1c = timeit(lambda: model(x1, collect=True), dev, repeats)
        tb = timeit(lambda: model(xb), dev, max(1, repeats // 2))
        if dev.type == "cuda":
            t0 = time.perf_counter()
            compiled(x1)  # the compilation itself
            _sync(dev)
            tcomp = time.perf_counter() - t0
            t1k = timeit(lambda: compiled(x1), dev, max(repeats, 20))
    gpu = dev.type == "cuda"

    def target(t: float) -> str:
        return f"  (target <= {FORWARD_TARGET_S * 1000:.0f} ms: {'met' if t <= FORWARD_TARGET_S else 'missed'})"

    rows.append(("forward, batch 1", ms(t1) + (target(t1) if gpu else "")))
    if gpu:
        rows.append(("forward, batch 1, torch.compile", ms(t1k) + target(t1k) + f"  (compiling took {tcomp:.0f} s)"))
    rows.append(("forward, batch 1, collecting attention + states", ms(t1c)))
    rows.append((f"throughput, batch {batch}", f"{batch / tb:.1f} clips/s  ({batch / tb * t1:.1f}x batch-1 loop)"))
    tig = timeit(lambda: ig_batched(model, x1, steps), dev, max(1, repeats // 2))
    rows.append((f"integrated gradients, {steps} steps in one batched pass", f"{tig:.2f} s"))
    tip = timeit(lambda: ig_batched(model, x1, steps, reuse_text=True), dev, max(1, repeats // 2))
    rows.append((f"integrated gradients, {steps} steps, one pass, text read once", f"{tip:.2f} s  ({tig / tip:.1f}x faster than re-reading it)"))
    tpp = timeit(lambda: ig_batched(model, x1, steps, reuse_text=True, reuse_pre=True), dev, max(1, repeats // 2))
    rows.append((f"integrated gradients, {steps} steps, one pass, text + pre-block fusion states once", f"{tpp:.2f} s  ({tig / tpp:.1f}x faster than re-reading the text)"))
    tl = timeit(lambda: ig_looped(model, x1, loop_steps), dev, 1) * steps / loop_steps
    rows.append((f"integrated gradients, {steps} steps looped one by one (est. from {loop_steps})", f"{tl:.2f} s  (the fastest one-pass form is {tl / tpp:.1f}x faster)"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--loop-steps", type=int, default=8)
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"])
    args = ap.parse_args()
    devs = []
    if args.device in ("cpu", "all"):
        devs.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devs.append(torch.device("cuda"))
    for dev in devs:
        name = (torch.cuda.get_device_name(0) + " (bf16 autocast)" if dev.type == "cuda"
                else f"CPU, {torch.get_num_threads()} threads (fp32)")
        print(f"\n## {name}")
        rows = bench(dev, args.repeats, args.batch, args.steps, args.loop_steps)
        w = max(len(r[0]) for r in rows)
        print(f"| {'measure'.ljust(w)} | value |\n|{'-' * (w + 2)}|-------|")
        for k, v in rows:
            print(f"| {k.ljust(w)} | {v} |")
    if not torch.cuda.is_available():
        print("\nGPU rows: not measured (no CUDA device)")


if __name__ == "__main__":
    main()
