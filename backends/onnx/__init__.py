"""ONNX export straight from the IR (onnx.helper, not torch.onnx) and inference with onnxruntime.

Modules: support (supported ops and `unexportable`, no onnx import), graph (the
builder), lower (OP_TABLE), metadata, rundir (weights/preprocess/classes of a
run directory), export (`build_model`, `save`), runtime (load, check, run).
Importing this package does not import onnx; import the submodules you need.
"""
