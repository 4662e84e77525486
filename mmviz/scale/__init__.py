"""Scoring beyond one process: Ray Data (an existing engine, not a home-made one)."""
