"""Judge what the sandbox recorded for one call against the reference, and say what is wrong.

`judge` reads only plain data (an autograder.sandbox.observe.Observation: snapshots, names, strings), so it
runs in another process than the student's code.
"""
import torch

from autograder.checks.compare import compare, compare_gradient, kind_name
from autograder.checks.contracts import contract_for
from autograder.checks.gradients import reference_gradients
from autograder.checks.specs import layout_for
from autograder.checks.tolerances import gradient_tolerance
from autograder.sandbox.snapshots import TensorSnapshot


def clone_inputs(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(clone_inputs(v) for v in value)
    if isinstance(value, dict):
        return {k: clone_inputs(v) for k, v in value.items()}
    return value


def expected_outcome(spec, inputs):
    """(value, None) from the reference, or (None, exception type) when the inputs must be refused."""
    try:
        return spec.expected(clone_inputs(inputs)), None
    except ValueError as error:
        return None, type(error)


def judge(spec, inputs, observation, tolerance, outcome=None, gradient_due=False, gradients_of=None):
    """None when the observation is right for these inputs; else a message saying what is wrong.

    `outcome` is expected_outcome(spec, inputs), when the caller has it already; `gradient_due` says
    whether this case compares gradients (autograder.checks.gradients.gradient_checked); `gradients_of`,
    when given, returns the reference's gradients of these inputs (a caller that keeps them; else computed
    here with autograder.checks.gradients.reference_gradients). The order follows the
    contract (autograder.checks.contracts): refused kernels, documented ValueErrors, exceptions, inputs returned
    or changed in place, outputs sharing memory, then type, container, shape, dtype, device, values, an output
    the text says is detached that requires grad, and last the gradient.
    """
    if observation.forbidden:
        return f"no credit: {observation.forbidden}"
    expected, expected_error = outcome or expected_outcome(spec, inputs)
    if observation.error_type == "NotImplementedError" and not observation.error_message:
        # the stub's bare raise; torch's NotImplementedError (an op without a meta kernel, .item() on the
        # meta device) has a message and is judged as any other exception
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
        if reads_values_on_meta(spec, inputs, observation):
            return None
        return f"raised {observation.error_type}: {observation.error_message}"
    if observation.modified_inputs:
        returned = " and returned it" if observation.returned_inputs else ""
        return (f"the function changed its input {', '.join(observation.modified_inputs)} in place{returned}; "
                "return new tensors instead (e.g. g * scale, not g.mul_(scale))")
    if observation.returned_inputs:
        return (f"the result holds the input object {', '.join(observation.returned_inputs)} itself; return new "
                "tensors (a caller's tensors must stay theirs, e.g. g * scale or x.clone())")
    if observation.aliased_outputs:
        return aliased_message(spec, inputs, observation)
    try:
        observed = spec.derive(observation.result, inputs)
    except (ValueError, TypeError) as error:  # what the function returned cannot be judged: say why
        return f"raised {type(error).__name__}: {error}"
    if hasattr(spec, "judge_result"):  # answers and trained models (checks.specs_questions, specs_training)
        return spec.judge_result(observed, expected, inputs)
    message = compare(observed, expected, layout_for(spec, inputs), tolerance,
                      fixed_dtype=contract_for(spec.check_id).fixed_dtype) or attached_message(spec, inputs, observation)
    if message or not gradient_due:
        return message
    return judge_gradient(spec, inputs, observation, gradient_tolerance(tolerance), gradients_of)


META_VALUE_READ = "cannot be called on meta tensors"  # Tensor.item(), bool(), float() of a meta tensor


def reads_values_on_meta(spec, inputs, observation):
    """Whether a function whose contract says `on_meta` stopped on the meta device because it read a value
    (an `if` on a norm, `min(1.0, scale)`): right code may do that there, and the case has no
    values to give it. A tensor made without device= fails before or without such a read (a device
    mismatch, a copy out of meta). Cells and layers get no such excuse: their algebra needs no value."""
    if not contract_for(spec.check_id).on_meta:
        return False
    on_meta = any(isinstance(t, torch.Tensor) and t.is_meta
                  for value in inputs.values() for t in (value if isinstance(value, (tuple, list)) else (value,)))
    return on_meta and observation.error_type == "RuntimeError" and META_VALUE_READ in observation.error_message


def judge_gradient(spec, inputs, observation, tolerance, gradients_of=None):
    """None when the gradient through the function matches the reference's; else why not. `gradients_of`:
    as for judge."""
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
    wanted = gradients_of() if gradients_of is not None else reference_gradients(spec, inputs)
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


def attached_message(spec, inputs, observation):
    """None unless an output the text says is detached still requires grad; else which and what to do."""
    detached = contract_for(spec.check_id).detached
    if not detached or not observation.grad_outputs:
        return None
    names = output_leaf_names(layout_for(spec, inputs).names, observation.result)
    attached = [_name_at(names, k) for k in observation.grad_outputs if _name_at(names, k) in detached]
    if not attached:
        return None
    which = ", ".join(f"`{name}`" for name in attached)
    return (f"the values are right, but {which} is not detached: {attached[0]}.requires_grad is True, and the "
            f"text asks for it detached from the graph; return {attached[0]}.detach()")


def aliased_message(spec, inputs, observation):
    """Which returned tensors share memory, by their names in the text, and what to return instead."""
    names = output_leaf_names(layout_for(spec, inputs).names, observation.result)
    pairs = ", ".join(f"`{_name_at(names, j)}` and `{_name_at(names, k)}`" for j, k in observation.aliased_outputs[:3])
    return (f"{pairs} share memory (one is a view of the other, or the same tensor is returned twice): "
            "return separate tensors, so that changing one cannot change the other (e.g. the last state "
            "itself rather than output[-1], or .clone())")


def _name_at(names, index):
    return names[index] if index < len(names) else f"output {index}"


def output_leaf_names(names, result):
    """Names of the non-empty tensor leaves of a recorded result, depth first, as observe numbers them:
    tuple positions from the layout, list items as name[k], dict values as name['key']."""
    if isinstance(result, TensorSnapshot):
        return [names if isinstance(names, str) else "output"] if result.values.size else []
    if isinstance(result, (tuple, list)):
        if isinstance(names, tuple) and len(names) == len(result):
            return [leaf for sub, item in zip(names, result) for leaf in output_leaf_names(sub, item)]
        base = names[:-2] if isinstance(names, str) and names.endswith("[]") else str(names)
        return [leaf for k, item in enumerate(result) for leaf in output_leaf_names(f"{base}[{k}]", item)]
    if isinstance(result, dict):
        return [leaf for key, item in result.items() for leaf in output_leaf_names(f"{names}[{key!r}]", item)]
    return []


def _flat_output_names(names):
    if isinstance(names, tuple):
        return [leaf for sub in names for leaf in _flat_output_names(sub)]
    return [names]
