"""ONNX export straight from the IR."""
