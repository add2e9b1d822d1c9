"""One unit per op: forward and backward side by side."""
