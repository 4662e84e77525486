"""Why the fusion model predicted what it did: the explanation engine.

Public API::

    from mmviz.explain import explain_clip, ExplainSettings
    e = explain_clip(runner, features)            # -> Explanation record (save with save_record)

Methods follow one contract (``mmviz.explain.base.Explainer``) and live in one registry
(``explainers()``): exact modality Shapley values, integrated gradients per modality, time
attributions, word attributions, counterfactuals. ``verdict`` turns Shapley values into
dominant / complementary / conflicting. Attention views, fusion-token diagnostics and the
embedding map live in ``attention``, ``tokens`` and ``embedding_map``.
"""

from mmviz.explain.record import (  # noqa: F401
    BASELINES,
    MODALITIES,
    CounterfactualResult,
    Counterfactuals,
    ExplainSettings,
    Explanation,
    ModalityIG,
    ModalityShapley,
    StepAttribution,
    TimeAttributions,
    Verdict,
    WordAttributions,
)
from mmviz.explain.base import ClipContext, Explainer, NothingToExplainError, explainers, get_explainer, register_explainer  # noqa: F401,E501
# registration order = the order explain_clip runs them
from mmviz.explain import shapley, integrated_gradients, time_attribution, word_attribution, counterfactual  # noqa: F401,E402
from mmviz.features.ablate import mask_span, mask_steps, remove, shift_audio, shift_steps, swap_modality, without  # noqa: F401,E402
from mmviz.explain.counterfactual import counterfactual as make_counterfactual  # noqa: F401,E402
from mmviz.explain.verdict import verdict  # noqa: F401,E402
from mmviz.explain.clip import explain_clip  # noqa: F401,E402
# records an Explanation holds; imported here so a saved one loads in a fresh process
from mmviz.explain import attention, embedding_map, tokens  # noqa: F401,E402

__all__ = ["explain_clip", "ExplainSettings", "Explanation", "explainers", "get_explainer", "register_explainer",
           "Explainer", "ClipContext", "verdict"]
