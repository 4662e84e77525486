"""The dashboard's service layer: one cached model, every result in the one results store.

Pages import :mod:`mmviz.app_service.cached` (Streamlit wrappers); everything else here is plain
Python and is tested without Streamlit. What pages draw is a
:class:`~mmviz.explain.analysis.ClipAnalysis` (the explainer's own records).
"""

from mmviz.app_service.service import AppService, Upload

__all__ = ["AppService", "Upload"]
