"""Moved to :mod:`mmviz.records.features` (records live below every layer); kept for old imports."""

from mmviz.records.features import ClipFeatures, MediaInfo, TimedMatrix, Word

__all__ = ["ClipFeatures", "MediaInfo", "TimedMatrix", "Word"]
