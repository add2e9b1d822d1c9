"""One line per op case, shared by the lowering, gradcheck and cross-backend tests.

Each case: (id, input shape, layer specs). A dense layer in front gives every
case a trainable parameter upstream, so input gradients are exercised too.
"""
IMG = [2, 6, 6]
VEC = [5]

OP_CASES = [
    ("dense", VEC, [("dense", {"units": 4})]),
    ("dense_nobias", VEC, [("dense", {"units": 4, "bias": False})]),
    ("conv2d", IMG, [("conv2d", {"filters": 3, "kernel": 3, "pad": 1})]),
    ("conv2d_asym_pad_stride", IMG, [("conv2d", {"filters": 3, "kernel": [2, 3], "stride": 2, "pad": (0, 1, 1, 1)})]),
    ("maxpool", IMG, [("maxpool", {"size": 2})]),
    ("maxpool_stride1", IMG, [("maxpool", {"size": 3, "stride": 1})]),
    ("avgpool", IMG, [("avgpool", {"size": [2, 3], "stride": [2, 1]})]),
    ("l2pool", IMG, [("l2pool", {"size": 2})]),
    ("l2pool_zero_window", IMG, [("relu",), ("step", {"threshold": 9.0}), ("l2pool", {"size": 2})]),
    ("flatten", IMG, [("flatten",), ("dense", {"units": 3})]),
    ("batchnorm_vec", VEC, [("dense", {"units": 4}), ("batchnorm", {"momentum": 0.2, "eps": 1e-3})]),
    ("batchnorm_img", IMG, [("conv2d", {"filters": 3, "kernel": 3}), ("batchnorm",)]),
    ("maxout", VEC, [("maxout", {"units": 3, "pieces": 3})]),
    ("residual", VEC, [("dense", {"units": 4}), ("residual", {"body": [("dense", {"units": 4}), ("tanh",)]})]),
    ("identity", VEC, [("dense", {"units": 4}), ("identity",)]),
    ("step", VEC, [("dense", {"units": 4}), ("step", {"threshold": 0.1}), ("dense", {"units": 2})]),
    ("sigmoid", VEC, [("dense", {"units": 4}), ("sigmoid", {"steepness": 2.5})]),
    ("tanh", VEC, [("dense", {"units": 4}), ("tanh",)]),
    ("scaled_tanh", VEC, [("dense", {"units": 4}), ("scaled_tanh",)]),
    ("hard_sigmoid", VEC, [("dense", {"units": 4}), ("hard_sigmoid",)]),
    ("relu", VEC, [("dense", {"units": 4}), ("relu",)]),
    ("leaky_relu", VEC, [("dense", {"units": 4}), ("leaky_relu", {"alpha": 0.2})]),
    ("prelu", VEC, [("dense", {"units": 4}), ("prelu", {"alpha": 0.3})]),
    ("elu", VEC, [("dense", {"units": 4}), ("elu", {"alpha": 0.7})]),
    ("selu", VEC, [("dense", {"units": 4}), ("selu",)]),
    ("softplus", VEC, [("dense", {"units": 4}), ("softplus",)]),
    ("softmax", VEC, [("dense", {"units": 4}), ("softmax",)]),
    ("log_softmax", VEC, [("dense", {"units": 4}), ("log_softmax",)]),
    ("dropout_eval", VEC, [("dense", {"units": 4}), ("dropout", {"p": 0.5})]),
    ("add", VEC, [("dense", {"units": 3, "name": "a"}), ("from", {"name": "x"}), ("dense", {"units": 3}),
                  ("add", {"refs": ["a", "dense_1"]})]),
    ("multiply", VEC, [("dense", {"units": 3, "name": "a"}), ("from", {"name": "x"}), ("dense", {"units": 3}),
                       ("multiply", {"refs": ["a", "dense_1"]})]),
    ("concat", VEC, [("dense", {"units": 3, "name": "a"}), ("tanh",), ("from", {"name": "x"}), ("dense", {"units": 2}),
                     ("concat", {"refs": ["tanh_1", "dense_1"]}), ("dense", {"units": 2})]),
    ("concat_img", IMG, [("conv2d", {"filters": 2, "kernel": 3, "pad": 1, "name": "a"}), ("from", {"name": "x"}),
                         ("conv2d", {"filters": 1, "kernel": 1}), ("concat", {"refs": ["a", "conv2d_1"]})]),
]

# Every op of specc.ops.OPS appears in some case (checked by test_lowering).
OPS_COVERED = {spec[0] for _id, _shape, specs in OP_CASES for spec in specs} | {"residual"}

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
