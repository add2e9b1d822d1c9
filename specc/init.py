"""Initial parameters, drawn once by the compiler from the seed.

Every backend starts from these arrays (canonical names and layout), which is
what makes "same spec, same seed, same numbers" hold across backends.
Rules (std / limit from fan_in and fan_out of the parameter):
  lecun_normal   N(0, 1/fan_in)             lecun_uniform   U(±sqrt(3/fan_in))
  glorot_normal  N(0, 2/(fan_in+fan_out))   glorot_uniform  U(±sqrt(6/(fan_in+fan_out)))
  he_normal      N(0, 2/fan_in)             he_uniform      U(±sqrt(6/fan_in))
  normal(std)    N(0, std^2)                uniform(limit)  U(±limit)
  zeros / ones / constant(value)
he_* and lecun_* take mode=fan_out: fan_in replaced by fan_out (torch's kaiming_normal_(mode="fan_out")).
Normals are plain (not truncated), as in the lecture.
"""
from __future__ import annotations

import numpy as np

from .ir import Param, Program
from .rng import stream


def draw(param: Param, rng: np.random.Generator) -> np.ndarray:
    """One parameter's initial value as float32."""
    shape, fi, fo, a = param.shape, max(param.fan_in, 1), max(param.fan_out, 1), param.init_args
    if a.get("mode") == "fan_out":  # he/lecun scaled by the fan-out (torch's mode="fan_out")
        fi = fo
    kind = param.init
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "constant":
        return np.full(shape, a["value"], np.float32)
    normal_std = {
        "lecun_normal": np.sqrt(1.0 / fi),
        "glorot_normal": np.sqrt(2.0 / (fi + fo)),
        "he_normal": np.sqrt(2.0 / fi),
        "normal": a.get("std"),
    }
    uniform_limit = {
        "lecun_uniform": np.sqrt(3.0 / fi),
        "glorot_uniform": np.sqrt(6.0 / (fi + fo)),
        "he_uniform": np.sqrt(6.0 / fi),
        "uniform": a.get("limit"),
    }
    if kind in normal_std:
        return (rng.standard_normal(shape) * normal_std[kind]).astype(np.float32)
    if kind in uniform_limit:
        lim = uniform_limit[kind]
        return rng.uniform(-lim, lim, shape).astype(np.float32)
    raise ValueError(f"unknown initializer {kind!r}")


def initial_params(program: Program, seed: int | None = None) -> dict[str, np.ndarray]:
    """All parameters and buffers, keyed canonically ("dense_1.weight"), in layer order."""
    if seed is None:
        seed = program.train.seed if program.train else 0
    rng = stream(seed, "init")
    return {key: draw(p, rng) for key, _layer, p in program.all_params()}
