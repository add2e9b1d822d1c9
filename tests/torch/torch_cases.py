"""The loss cases of the cross-backend tests (tests/torch/test_equivalence.py).

The op cases are the conformance suite's (tests/conformance): every op's
`examples` in specc/ops/, run on every backend.
"""
# (loss, final layer the loss is fused with or None, target kind)
LOSS_CASES = [
    ("cross_entropy", "softmax", "index"),
    ("cross_entropy", "softmax", "prob"),
    ("nll", "log_softmax", "index"),
    ("bce", "sigmoid", "multi"),
    ("bce", "sigmoid", "binary_index"),
    ("mse", None, "float"),
    ("mse", "softmax", "index"),
    ("mae", None, "float"),
    (("huber", {"delta": 0.5}), None, "float"),
]
