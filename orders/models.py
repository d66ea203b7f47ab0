"""orders models."""
