"""codecheck models."""
