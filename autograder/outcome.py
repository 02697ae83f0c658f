"""Run a function on one case and record what happened; judge a record against the reference.

`observe` is the only part that executes the function under test. It returns an `Observation` made of
plain data (snapshots, names, strings), so `judge` can run in another process than `observe`.
"""
from dataclasses import dataclass

import torch

from autograder.compare import compare, snapshot, kind_name
from autograder.forbidden import refusing
from autograder.specs import layout_for


@dataclass(frozen=True)
class Observation:
    result: object = None              # snapshot of the returned value
    error_type: str | None = None      # name of the exception raised, if any
    error_message: str = ""
    modified_inputs: tuple = ()        # names of input tensors the function changed in place
    forbidden: str | None = None       # why the call used a kernel it had to implement


def clone_inputs(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(clone_inputs(v) for v in value)
    if isinstance(value, dict):
        return {k: clone_inputs(v) for k, v in value.items()}
    return value


def _tensors(name, value):
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _tensors(f"{name}[{index}]", item)


def observe(spec, fn, inputs):
    """Call `fn` on a copy of `inputs`, with the kernels it must implement refused (see forbidden.py).

    Records its result or exception, any in-place change of an input, and any refused kernel call.
    """
    given = clone_inputs(inputs)
    with refusing(spec.check_id) as guard:
        try:
            result = spec.call(fn, given)
        except Exception as error:  # the student's exception is data here, reported by judge()
            return Observation(error_type=type(error).__name__, error_message=str(error)[:500],
                               forbidden=guard.violation)
    modified = tuple(name for (name, before), (_, after) in
                     zip(_tensors("", list(inputs.values())), _tensors("", list(given.values())))
                     if not torch.equal(before, after))
    names = list(inputs)
    modified = tuple(_input_name(names, m) for m in modified)
    return Observation(result=snapshot(result), modified_inputs=modified, forbidden=guard.violation)


def _input_name(names, path):
    """'[2][1]' -> 'state[1]' for inputs named [..., 'state', ...]."""
    index, _, rest = path[1:].partition("]")
    return names[int(index)] + rest


def expected_outcome(spec, inputs):
    """(value, None) from the reference, or (None, exception type) when the inputs must be refused."""
    try:
        return spec.expected(clone_inputs(inputs)), None
    except ValueError as error:
        return None, type(error)


def judge(spec, inputs, observation, tolerance, outcome=None):
    """None when the observation is right for these inputs; else a message saying what is wrong.

    `outcome` is expected_outcome(spec, inputs), when the caller has it already.
    """
    if observation.forbidden:
        return f"no credit: {observation.forbidden}"
    expected, expected_error = outcome or expected_outcome(spec, inputs)
    if observation.error_type == "NotImplementedError":
        return "not implemented yet: replace `raise NotImplementedError()` with your code"
    if expected_error is not None:
        if observation.error_type == expected_error.__name__:
            return None
        got = (f"it raised {observation.error_type}" if observation.error_type
               else f"it returned {kind_name(observation.result)}")
        return f"these inputs are invalid and should raise {expected_error.__name__}, but {got}"
    if observation.error_type:
        return f"raised {observation.error_type}: {observation.error_message}"
    if observation.modified_inputs:
        return (f"the function changed its input {', '.join(observation.modified_inputs)} in place; "
                "return new tensors instead (e.g. g * scale, not g.mul_(scale))")
    return compare(observation.result, expected, layout_for(spec, inputs), tolerance)
