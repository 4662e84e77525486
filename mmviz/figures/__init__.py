"""Pure Plotly figure builders: records in, figures out. No Streamlit, no model."""

from mmviz.figures.clip import (
    attention_heatmap,
    contribution_bars,
    counterfactual_bars,
    fusion_gates,
    prediction_bars,
    timeline,
    token_modality_share,
    token_norms,
    word_attribution_html,
)
from mmviz.figures.dataset import compare_bars, confusion_matrix, dataset_map, demo_overview, robustness_curve, slice_accuracy

__all__ = [
    "attention_heatmap", "contribution_bars", "counterfactual_bars", "fusion_gates", "prediction_bars", "timeline",
    "token_modality_share", "token_norms", "word_attribution_html", "compare_bars", "confusion_matrix", "dataset_map", "demo_overview",
    "robustness_curve", "slice_accuracy",
]
