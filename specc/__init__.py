"""specc: a compiler for neural-network specs (`.nn` files)."""
__version__ = "0.1.0"
