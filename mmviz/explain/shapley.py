"""Exact Shapley values of the three modalities (text, audio, visual).

The value of a coalition S is the fused prediction with every modality outside S removed
(audio/visual -> the settings' baseline, text -> the empty transcript; see
:mod:`mmviz.features.ablate`). With 3 players there are 8 coalitions, all evaluated in ONE
batched forward pass: the LM reads only two distinct transcripts (the real one and the empty
one), once each, and the fusion tokens are pre-run up to the first fusion block
(``precompute_fusion``), so each coalition costs only the fusion part of the model.

    phi_m = sum_{S not containing m} |S|! (n-|S|-1)! / n!  * (v(S + m) - v(S))

computed in exact rational arithmetic from the 8 float values, so the efficiency property
``sum_m phi_m == v(all) - v(none)`` holds up to the final rounding of each phi to float64.
A modality the clip does not have gets exactly 0 (its coalitions are the same inputs and
are evaluated once).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import factorial

from mmviz.features.ablate import remove
from mmviz.explain.base import ClipContext, Explainer, register_explainer
from mmviz.explain.record import MODALITIES, ExplainSettings, ModalityShapley

TEXT_REMOVAL = "empty transcript (the frozen LM reads no tokens; the fusion tokens see only themselves)"


def subset_key(s) -> str:
    return "+".join(m for m in MODALITIES if m in s) or "none"


def shapley_from_values(values: dict[tuple[str, ...], float], players: tuple[str, ...] = MODALITIES) -> dict[str, float]:
    """Exact Shapley values from every coalition's value (keys: tuples in ``players`` order)."""
    n = len(players)
    v = {tuple(k): Fraction(float(x)) for k, x in values.items()}
    phi = {}
    for m in players:
        others = [p for p in players if p != m]
        total = Fraction(0)
        for r in range(n):
            for s in combinations(others, r):
                with_m = tuple(p for p in players if p in s or p == m)
                total += Fraction(factorial(r) * factorial(n - r - 1), factorial(n)) * (v[with_m] - v[s])
        phi[m] = total
    return {m: float(x) for m, x in phi.items()}


@register_explainer
class ShapleyExplainer(Explainer[ModalityShapley]):
    """Exact Shapley values over the 3 modalities + the interaction term."""

    name = "shapley"
    record_type = ModalityShapley
    field = "shapley"

    def explain(self, runner, features, settings: ExplainSettings | None = None, *, context: ClipContext | None = None):
        ctx = self._context(runner, features, settings, context)  # normalise + validate
        values = self._values(ctx)  # compute
        phi = shapley_from_values(values)
        base, full = values[()], values[MODALITIES]
        interaction = full - base - sum(values[(m,)] - base for m in MODALITIES)
        s = ctx.settings
        return ModalityShapley(  # build
            values=phi, base=float(base), full=float(full), interaction=float(interaction),
            subset_values={subset_key(k): float(x) for k, x in values.items()}, present=ctx.present,
            baseline=s.baseline, text_removal=TEXT_REMOVAL, settings=s, seed=s.seed,
        )

    @staticmethod
    def _values(ctx: ClipContext) -> dict[tuple[str, ...], float]:
        coalitions = [s for r in range(len(MODALITIES) + 1) for s in combinations(MODALITIES, r)]
        canon = {s: tuple(m for m in s if m in ctx.present) for s in coalitions}
        unique = list(dict.fromkeys(canon.values()))
        clips = [remove(ctx.features, tuple(m for m in ctx.present if m not in c), ctx.settings.baseline, ctx.other)
                 for c in unique]
        preds = dict(zip(unique, ctx.predict(clips)))  # one batched forward
        ctx.cache.setdefault("prediction", float(preds[ctx.present]))
        return {s: float(preds[canon[s]]) for s in coalitions}
