"""Self-contained HTML reports (one clip or one dataset) with provenance."""

from mmviz.report.html import clip_report, dataset_report

__all__ = ["clip_report", "dataset_report"]
