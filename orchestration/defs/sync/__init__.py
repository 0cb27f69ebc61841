"""The gated syncs: one asset per destination, downstream of the checked sync models."""
