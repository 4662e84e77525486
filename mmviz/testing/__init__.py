"""Small deterministic models and synthetic records for tests, benchmarks and examples."""
