"""files models."""
