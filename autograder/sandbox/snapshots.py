"""Plain records of a returned value: numpy arrays, numbers, strings, containers and type names.

A snapshot holds no object of the student's: it can leave the process that made it and be compared in
another one.
"""
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TensorSnapshot:
    dtype: str
    device: str
    shape: tuple
    values: np.ndarray


@dataclass(frozen=True)
class ScalarSnapshot:
    """A numpy scalar (np.float64(0.5), np.int64(3), np.bool_(True)): its type name and its value."""

    type_name: str
    value: object


@dataclass(frozen=True)
class OtherSnapshot:
    """Anything that is not a tensor, number, string, tuple, list or dict: only its type name is kept."""

    type_name: str


MAX_DEPTH = 20


def snapshot(value, depth=0):
    """A plain record of `value` (tensors become numpy arrays on the CPU)."""
    if depth > MAX_DEPTH:
        return OtherSnapshot("nesting deeper than 20 levels")
    if isinstance(value, torch.Tensor):
        if value.is_meta:  # no values to read; shape, dtype and device still count
            values = np.full(tuple(value.shape), np.nan)
        else:
            values = value.detach().cpu()
            values = values.numpy() if values.dtype != torch.bfloat16 else values.double().numpy()
        return TensorSnapshot(str(value.dtype), value.device.type, tuple(value.shape), np.array(values))
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return ScalarSnapshot(f"numpy.{type(value).__name__}", value.item())
    if type(value) in (bool, int, float, str) or value is None:  # exact types: a subclass may lie
        return value
    if isinstance(value, tuple):  # named tuples (torch.return_types) too
        return tuple(snapshot(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [snapshot(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k if type(k) is str else repr(k)[:100]: snapshot(v, depth + 1) for k, v in value.items()}
    return OtherSnapshot(type(value).__name__[:100])
