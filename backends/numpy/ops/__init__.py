"""One unit per op: forward and backward side by side, registered here.

Adding an op = its file plus one line in OPS (tests/numpy checks that every
op of specc.ops.OPS except the `residual` container has a row, and a gradient
case). `residual` is run by the model runner itself: y = x + f(x).
"""
from __future__ import annotations

from ._base import Context, Op
from .avgpool import AvgPool
from .batchnorm import BatchNorm
from .conv2d import Conv2d
from .dense import Dense
from .dropout import Dropout
from .elu import ELU
from .flatten import Flatten
from .hard_sigmoid import HardSigmoid
from .identity import Identity
from .l2pool import L2Pool
from .leaky_relu import LeakyReLU
from .log_softmax import LogSoftmax
from .maxout import Maxout
from .maxpool import MaxPool
from .prelu import PReLU
from .relu import ReLU
from .scaled_tanh import ScaledTanh
from .selu import SELU
from .sigmoid import Sigmoid
from .softmax import Softmax
from .softplus import Softplus
from .step import Step
from .tanh import Tanh

OPS: dict[str, Op] = {op.name: op for op in [
    Dense(), Conv2d(), MaxPool(), AvgPool(), L2Pool(), Flatten(), Dropout(), BatchNorm(), Maxout(),
    Identity(), Step(), Sigmoid(), Tanh(), ScaledTanh(), HardSigmoid(), ReLU(), LeakyReLU(), PReLU(),
    ELU(), SELU(), Softplus(), Softmax(), LogSoftmax(),
]}

__all__ = ["OPS", "Op", "Context"]
