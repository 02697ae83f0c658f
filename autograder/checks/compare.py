"""Compare what a function returned with what it should return, and say precisely what is wrong.

Shared by the visible self-checks (in the student's notebook) and the hidden checks (in the grader).
The comparison works on *snapshots*: plain records of a returned value (numpy arrays, numbers, names),
so that it can run in a process that never executed the student's code.

Order of the checks for a tensor: type, shape, dtype, device, finiteness, then values (largest error
and its index, first wrong time step).
"""
from dataclasses import dataclass, field

import numpy as np
import torch

from autograder.sandbox.snapshots import OtherSnapshot, ScalarSnapshot, TensorSnapshot


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    # CS231n relative error max |a-b| / max(1e-8, |a|+|b|); used instead of rtol/atol when set.
    max_rel_error: float | None = None


@dataclass(frozen=True)
class OutputLayout:
    """Names of the returned values, nested like the value, plus axis names per leaf for messages.

    `names` is a string (one value), a tuple of layouts (a returned tuple), or "name[]" for a list
    of tensors. `axes` maps a leaf name to its axis names, e.g. {"output": ("time", "batch", "hidden")}.
    """

    names: object
    axes: dict = field(default_factory=dict)
    free_dtype: tuple = ()  # leaves whose dtype only has to be floating (their input is an int tensor)


def kind_name(observed):
    if isinstance(observed, TensorSnapshot):
        return f"a tensor of shape {observed.shape}"
    if isinstance(observed, OtherSnapshot):
        return f"a {observed.type_name}"
    if isinstance(observed, ScalarSnapshot):
        return f"a {observed.type_name} {observed.value!r}"
    if isinstance(observed, tuple):
        return f"a tuple of {len(observed)}"
    if isinstance(observed, list):
        return f"a list of {len(observed)}"
    return f"{type(observed).__name__} {observed!r}"


def compare(observed, expected, layout, tolerance, fixed_dtype=None):
    """None when `observed` (a snapshot) matches `expected` (real values); else a precise message.

    `fixed_dtype` names the leaves whose dtype the text fixes (else the dtype must follow the inputs).
    """
    return _compare(observed, expected, layout.names, layout, tolerance, fixed_dtype or {})


def max_error(observed, expected):
    """Largest absolute error over all tensor leaves (0.0 when there is none); inf on mismatch."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(observed, TensorSnapshot) or observed.shape != tuple(expected.shape):
            return float("inf")
        if observed.values.size == 0 or expected.is_meta:
            return 0.0
        got, want = observed.values.astype(np.float64), _numpy(expected)
        with np.errstate(invalid="ignore"):
            diff = np.where(got == want, 0.0, np.abs(got - want))  # equal infinities: no error
        return float(np.nanmax(diff)) if not np.isnan(diff).all() else float("inf")
    if isinstance(expected, (tuple, list)):
        if not isinstance(observed, (tuple, list)) or len(observed) != len(expected):
            return float("inf")
        return max((max_error(o, e) for o, e in zip(observed, expected)), default=0.0)
    if isinstance(expected, dict):
        if not isinstance(observed, dict):
            return float("inf")
        return max((max_error(observed.get(k), e) for k, e in expected.items()), default=0.0)
    return 0.0 if observed == expected else float("inf")


def _compare(observed, expected, names, layout, tolerance, fixed_dtype):
    if isinstance(names, tuple):
        wanted = "(" + ", ".join(_flat_name(n) for n in names) + ")"
        if not isinstance(observed, tuple):
            return f"expected a tuple {wanted}, got {kind_name(observed)}"
        if len(observed) != len(names):
            return f"expected a tuple of {len(names)} values {wanted}, got {kind_name(observed)}"
        for obs, exp, sub in zip(observed, expected, names):
            message = _compare(obs, exp, sub, layout, tolerance, fixed_dtype)
            if message:
                return message
        return None
    if isinstance(names, str) and names.endswith("[]"):
        name = names[:-2]
        if not isinstance(observed, list):
            return f"`{name}` should be a list of {len(expected)} tensors, got {kind_name(observed)}"
        if len(observed) != len(expected):
            return f"`{name}` should hold {len(expected)} tensors, got {len(observed)}"
        for index, (obs, exp) in enumerate(zip(observed, expected)):
            message = _compare(obs, exp, f"{name}[{index}]", layout, tolerance, fixed_dtype)
            if message:
                return message
        return None
    if isinstance(expected, torch.Tensor):
        leaf = names.split("[")[0]
        return compare_tensor(observed, expected, names, tolerance, layout.axes.get(leaf),
                              any_float_dtype=leaf in layout.free_dtype, dtype_fixed=leaf in fixed_dtype)
    if isinstance(expected, dict):
        if not isinstance(observed, dict):
            return f"`{names}` should be a dict with keys {sorted(expected)}, got {kind_name(observed)}"
        if set(observed) != set(expected):
            return f"`{names}` should have keys {sorted(expected)}, got keys {sorted(map(str, observed))}"
        for key, exp in expected.items():
            message = _compare(observed[key], exp, f"{names}[{key!r}]", layout, tolerance, fixed_dtype)
            if message:
                return message
        return None
    if isinstance(expected, int):
        if isinstance(observed, bool) or not isinstance(observed, int):
            return (f"`{names}` should be a Python int, got {kind_name(observed)}"
                    + (" (int(...) converts it)" if isinstance(observed, (TensorSnapshot, OtherSnapshot, ScalarSnapshot, float))
                       else ""))
        if observed != expected:
            return f"`{names}` is {observed}, expected {expected}"
        return None
    raise TypeError(f"cannot compare expected value of type {type(expected).__name__}")


def compare_tensor(observed, expected, name, tolerance, axes=None, any_float_dtype=False, dtype_fixed=False):
    """Type, shape, dtype, device, finiteness, then values; None when everything matches."""
    if not isinstance(observed, TensorSnapshot):
        return f"`{name}` should be a torch.Tensor, got {kind_name(observed)}"
    want_shape = tuple(expected.shape)
    if observed.shape != want_shape:
        axes_text = f" = ({', '.join(axes)})" if axes and len(axes) == len(want_shape) else ""
        return f"`{name}` has shape {observed.shape}, expected {want_shape}{axes_text}" + _shape_hint(
            observed.shape, want_shape, axes)
    if any_float_dtype:
        if observed.dtype not in ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64"):
            return f"`{name}` has dtype {observed.dtype}, expected a floating dtype (probabilities)"
    elif observed.dtype != str(expected.dtype):
        why = ("the text asks for this dtype" if dtype_fixed
               else "keep the dtype of the inputs; do not create tensors with a fixed dtype")
        return f"`{name}` has dtype {observed.dtype}, expected {expected.dtype} ({why})"
    if observed.device != expected.device.type:
        return (f"`{name}` is on device {observed.device}, expected {expected.device.type} "
                "(create new tensors on the inputs' device, e.g. torch.zeros_like or device=x.device)")
    if expected.is_meta:  # shapes, dtypes and devices only: the meta device has no values
        return None
    got = observed.values.astype(np.float64)
    want = _numpy(expected)
    if got.size == 0:
        return None
    finite_expected = np.isfinite(want)
    bad_finite = ~np.isfinite(got) & finite_expected
    if bad_finite.any():
        index = tuple(int(i) for i in np.argwhere(bad_finite)[0])
        return f"`{name}` has a non-finite value {got[index]} at index {_index_text(index, axes)}"
    with np.errstate(invalid="ignore"):
        diff = np.abs(got - want)
    # An infinite expected value is matched only by the same infinity (inf - inf is nan; inf > inf is false).
    infinite = np.isinf(want)
    diff = np.where(infinite, np.where(got == want, 0.0, np.inf), diff)
    want_for_limit = np.where(infinite, 0.0, want)
    if tolerance.max_rel_error is not None:
        rel = diff / np.maximum(1e-8, np.abs(got) + np.abs(want))
        bad = rel > tolerance.max_rel_error
        worst = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.ndim else ()
        limit_text = f"relative error {float(rel[worst]):.3g} > {tolerance.max_rel_error:g}"
    else:
        limit = tolerance.atol + tolerance.rtol * np.abs(want_for_limit)
        bad = ~(diff <= limit) & ~(np.isnan(got) & np.isnan(want))
        worst = np.unravel_index(int(np.argmax(np.where(bad, diff - limit, -np.inf))), diff.shape) if diff.ndim else ()
        limit_text = f"error {float(diff[worst]):.3g} > tolerance {float(limit[worst]):.3g}"
    if not bad.any():
        return None
    worst = tuple(int(i) for i in worst)
    lines = [f"`{name}` has wrong values: {int(bad.sum())} of {bad.size} entries are off; "
             f"largest at index {_index_text(worst, axes)}: got {got[worst]:.6g}, expected {want[worst]:.6g} "
             f"({limit_text})"]
    if axes and "time" in axes:
        time_axis = axes.index("time")
        wrong_steps = sorted({int(i[time_axis]) for i in np.argwhere(bad)})
        lines.append(f"first wrong time step: t={wrong_steps[0]} (wrong steps: {wrong_steps})")
    return "\n".join(lines)


def _shape_hint(got, want, axes):
    """Why a shape is wrong when the reason is plain: a size-1 axis dropped, two axes swapped, or one axis
    one entry longer or shorter (an off-by-one)."""
    named = lambda k: f"`{axes[k]}`" if axes and len(axes) == len(want) else f"{k}"
    dropped = [k for k in range(len(want)) if want[k] == 1 and tuple(want[:k] + want[k + 1:]) == tuple(got)]
    if dropped:
        return (f"\nthe axis {named(dropped[0])} of size 1 is missing: squeeze() drops every size-1 axis "
                "(index or squeeze only the axis you mean)")
    extra = [k for k in range(len(got)) if got[k] == 1 and tuple(got[:k] + got[k + 1:]) == tuple(want)]
    if extra:
        return (f"\nthere is an extra axis of size 1 at position {extra[0]} (e.g. PyTorch's layer axis of h_n): "
                "index it away")
    if len(got) == len(want) and sorted(got) == sorted(want):
        swapped = [k for k in range(len(want)) if got[k] != want[k]]
        if len(swapped) == 2:
            return f"\naxes {named(swapped[0])} and {named(swapped[1])} are swapped"
    if len(got) == len(want):
        differing = [k for k in range(len(want)) if got[k] != want[k]]
        if len(differing) == 1 and abs(got[differing[0]] - want[differing[0]]) == 1:
            k = differing[0]
            return (f"\none entry too {'many' if got[k] > want[k] else 'few'} along axis {named(k)} ({got[k]} "
                    f"instead of {want[k]}): a range, window or loop off by one")
    return ""


def compare_gradient(name, got, expected, tolerance):
    """None when the gradient `got` (numpy) w.r.t. input `name` matches `expected` (a tensor); else why."""
    want = _numpy(expected)
    if got.shape != want.shape:
        return f"the values are right, but the gradient with respect to `{name}` has shape {got.shape}"
    with np.errstate(invalid="ignore"):
        diff = np.abs(got - want)
    finite = np.isfinite(want)
    limit = tolerance.atol + tolerance.rtol * np.abs(np.where(finite, want, 0.0))
    # A non-finite reference gradient (log(0) at an impossible transition) is matched by the same value.
    bad = np.where(finite, ~(diff <= limit), ~((got == want) | (np.isnan(got) & np.isnan(want))))
    if not bad.any():
        return None
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape))
    return (f"the values are right, but the gradient with respect to `{name}` is wrong: {int(bad.sum())} of "
            f"{bad.size} entries off, largest at index {worst}: got {got[worst]:.6g}, expected {want[worst]:.6g}\n"
            "part of the computation is cut off from autograd (.detach(), .data, numpy, torch.tensor(values)) "
            "or differs from the formula where the values do not show it")


def _numpy(tensor):
    return tensor.detach().cpu().double().numpy()


def _flat_name(names):
    if isinstance(names, tuple):
        return "(" + ", ".join(_flat_name(n) for n in names) + ")"
    return names[:-2] if names.endswith("[]") else names


def _index_text(index, axes):
    if axes and len(axes) == len(index):
        return "(" + ", ".join(f"{a}={i}" for a, i in zip(axes, index)) + ")"
    return str(index)
