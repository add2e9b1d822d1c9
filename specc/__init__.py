"""specc: a compiler for neural-network specs (`.nn` files).

    import specc
    program = specc.compile("examples/xor.nn")     # or the spec text itself
    model = program.train(backend="numpy")
    model.predict(x)
    model = specc.load("runs/xor-...")               # a trained run directory
    model.metrics, model.weights, model.to_torch(), model.export("xor.onnx"), model.evaluate()
    specc.runs("runs")                               # every run under a folder
"""
__version__ = "0.1.0"

__all__ = ["compile", "load", "runs", "__version__"]


def __getattr__(name):
    # Lazy: `specc check` must not pay for the training stack's imports.
    if name in ("compile", "load", "runs"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'specc' has no attribute {name!r}")
