"""Turning decoded media into named, timed descriptors (the ClipFeatures record)."""
