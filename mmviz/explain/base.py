"""The one explainer contract, its registry, and the per-clip context explainers share.

Every explanation method is a class ``Explainer[R]`` (R: the record it returns) with

* ``name`` — a short id ("shapley", "integrated_gradients", ...), the key of the registry;
* ``record_type`` — R, the record class its ``explain`` returns;
* ``field`` — the :class:`~mmviz.explain.record.Explanation` field its record fills ("" for an
  extra method, whose record goes to ``Explanation.extra``); checked at registration;
* ``uses`` — the shared passes it reads (see below): its explicit dependencies;
* ``applies_to(model) -> bool`` — whether the method makes sense for this model;
* ``explain(runner, features, settings=None, *, context=None) -> R``.

and is registered with :func:`register_explainer` (one registry, here). ``explain_clip``
iterates the registry and builds the Explanation from it. ``explain`` always goes: normalise
inputs -> validate (user-facing :class:`MmvizError`) -> private compute -> build the record.

Shared passes are the expensive computations several methods read — the audio-visual
integrated-gradients pass (modality totals and time attribution) and the word pass (modality
totals and word attribution). Each is registered by name with :func:`register_pass`, declared
in the ``uses`` of every explainer that reads it, and run at most once per clip by
:meth:`ClipContext.shared`. :class:`ClipContext` also holds the batched-ready inputs and the
LM's pass over each distinct transcript (a :class:`TextPrefix` with the fusion tokens pre-run
up to the first fusion block). It is an optimisation only: passing none gives the same numbers.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import torch

from mmviz.errors import MmvizError
from mmviz.features.ablate import check_baseline, present_modalities
from mmviz.explain.record import MODALITIES, ExplainSettings
from mmviz.records.features import ClipFeatures
from mmviz.inference.batching import tokenize
from mmviz_models.fusion import FusionInputs, TextPrefix


class NothingToExplainError(MmvizError):
    """The clip has no input the model reads."""

    kind = "explain"


# ----------------------------------------------------------------------------- context
@dataclass
class ClipContext:
    """Per-clip state shared between explainers (not a record: never saved)."""

    runner: Any
    features: ClipFeatures
    settings: ExplainSettings
    other: ClipFeatures | None = None
    present: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict)
    pass_timings: dict = field(default_factory=dict)  # seconds of each shared pass (memo key)
    _prefixes: dict = field(default_factory=dict)
    _x: FusionInputs | None = None

    @classmethod
    def build(cls, runner, features: ClipFeatures, settings: ExplainSettings | None = None,
              other: ClipFeatures | None = None) -> "ClipContext":
        """Normalise + validate the common inputs of every explainer."""
        settings = settings or ExplainSettings()
        if not isinstance(settings, ExplainSettings):
            raise MmvizError(f"settings must be ExplainSettings, not {type(settings).__name__}.")
        check_baseline(settings.baseline, other)
        if settings.ig_steps < 2 or settings.word_steps < 2:
            raise MmvizError("Integrated gradients needs at least 2 steps.", hint="Raise ig_steps / word_steps.")
        present = present_modalities(features, runner.model)
        if not present:
            raise NothingToExplainError(
                f"Clip {features.clip_id!r} has no audio, no video and no transcript words that the model reads, "
                "so there is nothing to explain.",
                hint="Check that the file decoded (see its media warnings) or type a transcript.",
            )
        ctx = cls(runner, features, settings, other, present)
        for m in MODALITIES:
            if m not in present:
                what = {"text": "transcript words", "audio": "audio", "visual": "video"}[m]
                ctx.notes.append(f"The clip has no {what}: {m} contributes 0 to every attribution.")
        return ctx

    @property
    def model(self):
        return self.runner.model

    @property
    def device(self) -> torch.device:
        return self.runner.device

    # ---- text prefixes: one LM pass per distinct transcript
    def prefix(self, text: str) -> TextPrefix:
        """The LM's pass over ``text`` (+ fusion tokens up to the first block), batch 1, cached."""
        if text not in self._prefixes:
            ids, mask = tokenize([text], self.runner.tokenizer, self.model.cfg.max_text_tokens)
            with self.runner.lock, torch.no_grad():
                p = self.model.encode_text(ids.to(self.device), mask.to(self.device))
                self._prefixes[text] = self.model.precompute_fusion(p)
        return self._prefixes[text]

    @property
    def n_text_passes(self) -> int:
        return len(self._prefixes)

    # ---- the clip's own inputs (NaN imputed with the model's mean: same output, finite gradients)
    @property
    def x(self) -> FusionInputs:
        if self._x is None:
            self._x = impute(self.model, self.runner.inputs([self.features]))
        return self._x

    def inputs_of(self, clip: ClipFeatures) -> FusionInputs:
        return impute(self.model, self.runner.inputs([clip]))

    @property
    def prediction(self) -> float:
        """The fused prediction of the clip as it is (through the cached prefix)."""
        if "prediction" not in self.cache:
            self.cache["prediction"] = float(self.predict([self.features])[0])
        return self.cache["prediction"]

    def memo(self, key, fn):
        """``fn()`` computed once per context (shared intermediate results)."""
        if key not in self.cache:
            t = time.perf_counter()
            self.cache[key] = fn()
            self.pass_timings[key] = time.perf_counter() - t
        return self.cache[key]

    def shared(self, name: str):
        """The result of the shared pass ``name`` for this clip (run once, then reused)."""
        if name not in _PASSES:
            raise KeyError(f"no shared pass called {name!r} (registered: {', '.join(_PASSES)})")
        return self.memo(name, lambda: _PASSES[name](self))

    # ---- batched prediction of many variants of the clip
    def predict(self, clips: Sequence[ClipFeatures]) -> np.ndarray:
        """Fused predictions (float64) of ``clips``, batched, reusing one LM pass per transcript."""
        out: list[np.ndarray] = []
        bs = max(1, int(self.settings.batch_size))
        for start in range(0, len(clips), bs):
            chunk = list(clips[start : start + bs])
            prefix = TextPrefix.stack([self.prefix(c.transcript) for c in chunk])
            with self.runner.lock, torch.inference_mode():
                x = self.runner.inputs(chunk)
                out.append(self.model(x, prefix=prefix).pred_fused.double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def impute(model, x: FusionInputs) -> FusionInputs:
    """NaN audio/visual values replaced by the model's training mean (what it imputes anyway)."""
    def fill(v: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        if v.shape[-1] == 0 or not torch.isnan(v).any():
            return v
        return torch.where(torch.isnan(v), mean.to(v.dtype).expand_as(v), v)

    return FusionInputs(x.input_ids, x.text_mask, fill(x.audio, model.audio_mean), x.audio_mask, x.audio_times,
                        fill(x.visual, model.visual_mean), x.visual_mask, x.visual_times)


def with_av(x: FusionInputs, audio: torch.Tensor, visual: torch.Tensor) -> FusionInputs:
    """``x`` (batch 1) broadcast to ``audio``'s batch, with these audio/visual values."""
    B = audio.shape[0]
    e = lambda t: t.expand(B, *t.shape[1:])  # noqa: E731
    return FusionInputs(e(x.input_ids), e(x.text_mask), audio, e(x.audio_mask), e(x.audio_times),
                        visual, e(x.visual_mask), e(x.visual_times))


class PrefixRepeater:
    """One clip's TextPrefix repeated to whatever batch size Captum asks for (cached per size)."""

    def __init__(self, prefix: TextPrefix) -> None:
        self.prefix = prefix
        self._by_size: dict[int, TextPrefix] = {}

    def __call__(self, n: int) -> TextPrefix:
        if n not in self._by_size:
            self._by_size = {n: self.prefix.repeat(n)}  # keep one size: memory
        return self._by_size[n]


# ---------------------------------------------------------------------------- shared passes
_PASSES: dict[str, Callable[[ClipContext], Any]] = {}


def register_pass(name: str):
    """Decorator: ``fn(ctx) -> result`` becomes the shared pass ``name`` (see the module docstring)."""
    def deco(fn: Callable[[ClipContext], Any]) -> Callable[[ClipContext], Any]:
        if name in _PASSES and _PASSES[name] is not fn:
            raise TypeError(f"a shared pass called {name!r} is already registered")
        _PASSES[name] = fn
        return fn

    return deco


def shared_passes() -> tuple[str, ...]:
    return tuple(_PASSES)


# ---------------------------------------------------------------------------- contract
R = TypeVar("R")


class Explainer(abc.ABC, Generic[R]):
    """Base class of every explanation method (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    record_type: ClassVar[type] = object
    field: ClassVar[str] = ""
    uses: ClassVar[tuple[str, ...]] = ()
    needs_gradients: ClassVar[bool] = False

    def applies_to(self, model) -> bool:
        """Whether this method makes sense for ``model`` (default: any FusionModel)."""
        return hasattr(model, "encode_text") and hasattr(model, "precompute_fusion")

    @abc.abstractmethod
    def explain(self, runner, features: ClipFeatures, settings: ExplainSettings | None = None, *,
                context: ClipContext | None = None) -> R:
        """Explain one clip; returns an instance of ``record_type``."""

    def _context(self, runner, features, settings, context) -> ClipContext:
        """normalise + validate: the shared first two steps of every ``explain``."""
        if context is not None:
            same = context.features is features or (context.features.content_hash == features.content_hash
                                                    and context.features.transcript == features.transcript)
            if not same:
                raise ValueError("the context was built for another clip")
            return context
        if not self.applies_to(runner.model):
            raise MmvizError(f"The {self.name} explanation does not apply to this model.")
        return ClipContext.build(runner, features, settings)


_EXPLAINERS: dict[str, Explainer] = {}


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: add one instance of ``cls`` to the registry under ``cls.name``.

    Checks the contract once, at import: a name, and an Explanation field of the record type
    (or none, for an extra method). ``uses`` is checked by :func:`check_dependencies` once every
    module has registered its passes.
    """
    import dataclasses
    import typing

    from mmviz.explain.record import Explanation

    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a name")
    if cls.field:
        hints = typing.get_type_hints(Explanation)
        if cls.field not in {f.name for f in dataclasses.fields(Explanation)}:
            raise TypeError(f"{cls.__name__}.field {cls.field!r} is not a field of Explanation")
        if cls.record_type not in typing.get_args(hints[cls.field]):
            raise TypeError(f"Explanation.{cls.field} cannot hold a {cls.record_type.__name__}")
        taken = [e.name for e in _EXPLAINERS.values() if e.field == cls.field and e.name != cls.name]
        if taken:
            raise TypeError(f"Explanation.{cls.field} is already filled by {taken[0]}")
    _EXPLAINERS[cls.name] = cls()
    return cls


def check_dependencies() -> None:
    """Every registered explainer's ``uses`` names a registered shared pass."""
    for e in _EXPLAINERS.values():
        missing = [p for p in e.uses if p not in _PASSES]
        if missing:
            raise TypeError(f"{type(e).__name__} uses unregistered shared pass(es): {', '.join(missing)}")


def explainers() -> tuple[Explainer, ...]:
    """Every registered explainer, in registration order."""
    return tuple(_EXPLAINERS.values())


def get_explainer(name: str) -> Explainer:
    if name not in _EXPLAINERS:
        raise MmvizError(f"No explanation method called {name!r}.", hint=f"Available: {', '.join(_EXPLAINERS)}.")
    return _EXPLAINERS[name]
