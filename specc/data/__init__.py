"""Data sources, splits and preprocessing."""
