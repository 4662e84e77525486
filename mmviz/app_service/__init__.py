"""The dashboard's service layer: one cached model, results cached on disk by content hash.

Pages import :mod:`mmviz.app_service.cached` (Streamlit wrappers); everything else here is plain
Python and is tested without Streamlit.
"""

from mmviz.app_service.service import AppService, Upload
from mmviz.app_service.views import ClipExplanation, ClipResult, Counterfactual, TimeAttribution

__all__ = ["AppService", "Upload", "ClipExplanation", "ClipResult", "Counterfactual", "TimeAttribution"]
