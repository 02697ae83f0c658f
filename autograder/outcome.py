"""Run a function on one case and record what happened; judge a record against the reference.

`observe` is the only part that executes the function under test. It returns an `Observation` made of
plain data (snapshots, names, strings), so `judge` can run in another process than `observe`.
"""
from dataclasses import dataclass

import torch

from autograder.compare import compare, snapshot, kind_name, compare_gradient
from autograder.contracts import contract_for
from autograder.forbidden import refusing
from autograder.gradients import gradients, reference_gradients, with_grad
from autograder.specs import layout_for
from autograder.tolerances import gradient_tolerance


@dataclass(frozen=True)
class Observation:
    result: object = None              # snapshot of the returned value
    error_type: str | None = None      # name of the exception raised, if any
    error_message: str = ""
    modified_inputs: tuple = ()        # names of input tensors the function changed in place
    forbidden: str | None = None       # why the call used a kernel it had to implement
    returned_inputs: tuple = ()        # names of input objects returned as (part of) the result
    # Differentiable checks only: the gradient of a fixed weighted sum of the outputs (autograder.gradients)
    # taken through the function, per floating input (None: no gradient reached it), as numpy arrays.
    gradients: dict | None = None
    detached_outputs: tuple = ()       # positions of floating output leaves that carry no autograd graph
    gradient_error: str | None = None  # what the call with inputs requiring grad raised


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


def observe(spec, fn, inputs, with_gradient=False):
    """Call `fn` on a copy of `inputs`, with the kernels it must implement refused (see forbidden.py).

    Records its result or exception, any in-place change of an input, any input object returned, any
    refused kernel call and, `with_gradient`, the gradient through `fn` (a second call; see
    autograder.gradients.gradient_checked).
    """
    given = clone_inputs(inputs)
    with refusing(spec.check_id) as guard:
        try:
            result = spec.call(fn, given)
        except Exception as error:  # the student's exception is data here, reported by judge()
            return Observation(error_type=type(error).__name__, error_message=str(error)[:500],
                               forbidden=guard.violation)
        gradient_fields = _observe_gradients(spec, fn, inputs) if with_gradient else {}
    modified = tuple(name for (name, before), (_, after) in
                     zip(_tensors("", list(inputs.values())), _tensors("", list(given.values())))
                     if not torch.equal(before, after))
    names = list(inputs)
    modified = tuple(_input_name(names, m) for m in modified)
    return Observation(result=snapshot(result), modified_inputs=modified, forbidden=guard.violation,
                       returned_inputs=_returned_inputs(result, given), **gradient_fields)


def _observe_gradients(spec, fn, inputs):
    given, leaves = with_grad(inputs)
    try:
        with torch.enable_grad():
            grads, detached = gradients(spec.call(fn, given), leaves)
    except Exception as error:  # data for judge(), like any exception of the function
        return {"gradient_error": f"{type(error).__name__}: {str(error)[:300]}"}
    return {"gradients": {name: None if grad is None else grad.detach().cpu().double().numpy()
                          for name, grad in grads.items()},
            "detached_outputs": tuple(detached)}


def _returned_inputs(result, given):
    """Names of the input objects (tensors, lists, tuples) that the result holds as they are."""
    by_id = {}
    for name, value in given.items():
        by_id[id(value)] = name
        if isinstance(value, (tuple, list)):
            by_id.update({id(v): f"{name}[{k}]" for k, v in enumerate(value)})
    found = []

    def visit(value):
        if isinstance(value, (torch.Tensor, tuple, list)) and id(value) in by_id:
            found.append(by_id[id(value)])
        if isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    visit(result)
    return tuple(dict.fromkeys(found))


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


def judge(spec, inputs, observation, tolerance, outcome=None, gradient_due=False):
    """None when the observation is right for these inputs; else a message saying what is wrong.

    `outcome` is expected_outcome(spec, inputs), when the caller has it already; `gradient_due` says
    whether this case compares gradients (autograder.gradients.gradient_checked). The order follows the
    contract (autograder.contracts): refused kernels, documented ValueErrors, exceptions, inputs returned
    or changed in place, then type, container, shape, dtype, device, values, and last the gradient.
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
        options = ", ".join(f"{k}={v!r}" for k, v in inputs.items() if not hasattr(v, "shape")
                            and not isinstance(v, (tuple, list)))
        return f"these inputs are invalid ({options}) and should raise {expected_error.__name__}, but {got}"
    if observation.error_type:
        return f"raised {observation.error_type}: {observation.error_message}"
    if observation.modified_inputs:
        returned = " and returned it" if observation.returned_inputs else ""
        return (f"the function changed its input {', '.join(observation.modified_inputs)} in place{returned}; "
                "return new tensors instead (e.g. g * scale, not g.mul_(scale))")
    if observation.returned_inputs:
        return (f"the result holds the input object {', '.join(observation.returned_inputs)} itself; return new "
                "tensors (a caller's tensors must stay theirs, e.g. g * scale or x.clone())")
    if hasattr(spec, "judge_result"):  # answers and trained models (autograder.specs_questions, specs_training)
        return spec.judge_result(observation.result, expected, inputs)
    message = compare(observation.result, expected, layout_for(spec, inputs), tolerance,
                      fixed_dtype=contract_for(spec.check_id).fixed_dtype)
    if message or not gradient_due:
        return message
    return judge_gradient(spec, inputs, observation, gradient_tolerance(tolerance))


def judge_gradient(spec, inputs, observation, tolerance):
    """None when the gradient through the function matches the reference's; else why not."""
    keep = ("cells and layers must stay differentiable: use torch operations on the inputs, without "
            ".detach(), torch.no_grad(), numpy round trips, .item() or torch.tensor(values)")
    if observation.gradient_error:
        return (f"the values are right, but with inputs that require grad the function raised "
                f"{observation.gradient_error}\n{keep}")
    if observation.gradients is None:
        return f"the values are right, but no gradient was recorded\n{keep}"
    names = _flat_output_names(layout_for(spec, inputs).names)
    if observation.detached_outputs:
        which = ", ".join(f"`{names[k]}`" if k < len(names) else f"output {k}" for k in observation.detached_outputs)
        return f"the values are right, but {which} carries no gradient (it is cut off from the inputs)\n{keep}"
    wanted = reference_gradients(spec, inputs)
    for name, grad in observation.gradients.items():
        reference = wanted[name]
        if grad is None:
            if bool((reference != 0).any()):
                return f"the values are right, but no gradient reaches the input `{name}`\n{keep}"
            continue
        message = compare_gradient(name, grad, reference, tolerance)
        if message:
            return message
    return None


def _flat_output_names(names):
    if isinstance(names, tuple):
        return [leaf for sub in names for leaf in _flat_output_names(sub)]
    return [names]
