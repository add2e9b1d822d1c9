"""The NumPy reference backend: hand-written forward and backward passes."""
