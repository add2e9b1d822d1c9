"""Makes the helper modules of this directory importable (onnx_build, onnx_helpers, onnx_torch_ref)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
