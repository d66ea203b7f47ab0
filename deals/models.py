"""deals models."""
