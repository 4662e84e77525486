"""Running the model: batching ClipFeatures, loading once, building Inspection records."""
