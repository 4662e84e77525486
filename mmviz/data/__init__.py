"""Datasets of clip features, the results store, and evaluation metrics."""
