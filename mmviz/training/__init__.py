"""Training the fusion model: settings, the loop, and resumable state."""
