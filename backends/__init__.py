"""Backends: numpy (reference), torch, onnx. Each imports only its own framework."""
